package engine

import (
	"context"
	"encoding/json"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/store"
)

// sweep removes, as a run ends, whatever is left of it, so that the run is
// recorded ended only once nothing of it is left. Its attempts' containers
// were removed one by one as they ended; what can be left is:
//
//   - a container no attempt knew of: one whose creation the engine was
//     still finishing when an earlier life of baton was killed, so that the
//     restarted baton, looking for it, found nothing and recorded that
//     there was nothing to remove;
//   - an attempt an earlier life ended whose removal a crash cut short: its
//     container, or only the record that it is gone.
//
// No attempt of the run runs by now, so nothing it holds is still needed.
// While a run is driven, [Engine.Reap] leaves what it holds to this.
func (r *runner) sweep(ctx context.Context) {
	for _, name := range r.e.names {
		r.sweepExecutor(ctx, name)
	}
	attempts, err := r.e.st.AttemptList(ctx, r.run.ID)
	if err != nil {
		r.e.log.Warn("look for attempts of the run not removed", "run_id", r.run.ID, "err", err)
		return
	}
	for _, a := range attempts {
		var h executor.Handle
		if a.Removed || len(a.Handle) == 0 || json.Unmarshal(a.Handle, &h) != nil || r.e.checkOwner(&h) != nil {
			continue
		}
		r.removeLeftover(ctx, a.Step, a.Attempt, &h) // idempotent: records what a crash kept from the store
	}
}

// sweepExecutor removes what the executor named name holds of the run.
func (r *runner) sweepExecutor(ctx context.Context, name string) {
	owned, ok, err := r.e.listOwned(ctx, name)
	if err != nil {
		r.e.log.Warn("look for leftovers of the run", "run_id", r.run.ID, "executor", name, "err", err)
	}
	if !ok || err != nil {
		return
	}
	for _, o := range owned {
		if o.RunID != r.run.ID {
			continue
		}
		if a, err := r.e.st.AttemptGet(ctx, o.RunID, o.Step, o.Attempt); err == nil && !madeBy(a, name) {
			continue // another executor of this engine lists it too; it is that one's
		}
		r.e.log.Warn("removing a leftover of the run", "run_id", r.run.ID, "step", o.Step, "attempt", o.Attempt, "executor", name, "handle", o.Handle.ID)
		r.removeLeftover(ctx, o.Step, o.Attempt, o.Handle)
	}
}

// removeLeftover removes what h names and records it on the attempt, if
// there is one.
func (r *runner) removeLeftover(ctx context.Context, step string, attempt int, h *executor.Handle) {
	err := r.e.remove(ctx, h)
	if err != nil {
		r.e.cfg.Metrics.CleanupFailures.WithLabelValues(h.Executor).Inc()
		r.e.log.Warn("remove leftover", "run_id", r.run.ID, "step", step, "attempt", attempt, "err", err)
	}
	a, aerr := r.e.st.AttemptGet(ctx, r.run.ID, step, attempt)
	if aerr != nil {
		return // no such attempt: nothing records it
	}
	p := &store.StepSetCleanupParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: step, Attempt: attempt, Removed: err == nil, Tries: a.CleanupTries + 1}
	if err != nil {
		p.Error = err.Error()
	}
	if err := r.e.st.StepSetCleanup(ctx, p); err != nil {
		r.e.log.Error("record cleanup", "run_id", r.run.ID, "step", step, "err", err)
	}
}
