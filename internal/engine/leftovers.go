package engine

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/store"
)

// sweep removes, as a run ends, whatever the executor still holds of it. Its
// attempts' containers were removed one by one already; what is left is what
// no attempt knew of: a container whose creation was under way when an
// earlier life of baton was killed, that the engine finished creating only
// after the restarted baton had looked for it and, finding nothing, recorded
// that there was nothing to remove. No attempt of the run runs by now, so
// nothing it holds is still needed.
func (r *runner) sweep(ctx context.Context) {
	l, ok := r.e.exec.(executor.Lister)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	owned, err := l.ListOwned(ctx)
	if err != nil {
		r.e.log.Warn("look for leftovers of the run", "run_id", r.run.ID, "err", err)
		return
	}
	for _, o := range owned {
		if o.RunID != r.run.ID {
			continue
		}
		if f, err := os.OpenFile("/tmp/h6ov/sweep.log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(f, "%s run %s step %s attempt %d handle %s\n", time.Now().Format(time.RFC3339Nano), r.run.ID, o.Step, o.Attempt, o.Handle.ID)
			f.Close()
		}
		r.e.log.Warn("removing a leftover no attempt recorded", "run_id", r.run.ID, "step", o.Step, "attempt", o.Attempt, "handle", o.Handle.ID)
		err := r.e.exec.Remove(ctx, o.Handle)
		if err != nil {
			r.e.cfg.Metrics.CleanupFailures.WithLabelValues(r.e.exec.Name()).Inc()
			r.e.log.Warn("remove leftover", "run_id", r.run.ID, "step", o.Step, "attempt", o.Attempt, "err", err)
		}
		a, aerr := r.e.st.AttemptGet(ctx, r.run.ID, o.Step, o.Attempt)
		if aerr != nil {
			continue // no such attempt: nothing records it
		}
		p := &store.StepSetCleanupParams{RunID: r.run.ID, Name: o.Step, Attempt: o.Attempt, Removed: err == nil, Tries: a.CleanupTries + 1}
		if err != nil {
			p.Error = err.Error()
		}
		if err := r.e.st.StepSetCleanup(ctx, p); err != nil {
			r.e.log.Error("record cleanup", "run_id", r.run.ID, "step", o.Step, "err", err)
		}
	}
}
