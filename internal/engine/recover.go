package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// Recover makes the engine whole after a restart: every unfinished run is
// picked up (running attempts re-attached through their stored handles),
// then whatever the executor holds that no running attempt owns is removed.
// It returns once both are done; the runs go on in the background.
func (e *Engine) Recover(ctx context.Context) error {
	if err := e.Resume(ctx); err != nil {
		return err
	}
	removed, err := e.Reap(ctx)
	if err != nil {
		return err
	}
	if removed > 0 {
		e.log.Info("removed leftovers nobody owns", "count", removed)
	}
	return nil
}

// Reap removes everything the executors hold that belongs to no running
// attempt of a run this engine drives: containers of finished attempts whose
// removal was cut short, and those of runs that ended while baton was down.
// Their logs were archived before their attempt ended. Every executor that
// can list what it holds ([executor.Lister]) is asked; one that cannot
// answer does not keep the others' leftovers in place, and its error is
// returned once they are done.
//
// Only the executor that made an attempt removes it: an attempt made by an
// executor this engine does not have is left in place, and its cleanup
// error says so.
func (e *Engine) Reap(ctx context.Context) (int, error) {
	removed := 0
	var errs []error
	for _, name := range e.names {
		n, err := e.reapExecutor(ctx, name)
		removed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.reapUnremoved(ctx); err != nil {
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// reapExecutor removes what the executor named name holds that no running
// attempt of a run this engine drives owns.
func (e *Engine) reapExecutor(ctx context.Context, name string) (int, error) {
	owned, _, err := e.listOwned(ctx, name) // none when the executor cannot list
	if err != nil {
		return 0, fmt.Errorf("engine: list leftovers of executor %q: %w", name, err)
	}
	removed := 0
	waiting := make(map[string]bool) // by run: unfinished, not driven here
	for _, o := range owned {
		a, err := e.st.AttemptGet(ctx, o.RunID, o.Step, o.Attempt)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return removed, fmt.Errorf("engine: reap: %w", err)
		}
		if !madeBy(a, name) {
			continue // another executor of this engine lists it too; it is that one's
		}
		if e.drives(o.RunID) {
			continue // its runner removes it, as the attempt or the run ends (see sweep)
		}
		if a != nil && (a.Status == store.StepRunning || e.cfg.Shared) {
			// Not driven, yet unfinished: the run waits for a server with
			// an executor this one lacks (see adopt), and the attempt runs
			// on; or, on a shared store, another server drives it, and
			// removes what its attempts leave. It is that server's.
			waits, ok := waiting[o.RunID]
			if !ok {
				run, err := e.st.RunGet(ctx, o.RunID)
				waits = err == nil && !run.Status.Terminal()
				waiting[o.RunID] = waits
			}
			if waits {
				continue
			}
		}
		if err := e.remove(ctx, o.Handle); err != nil {
			e.log.Warn("remove leftover", "run_id", o.RunID, "step", o.Step, "attempt", o.Attempt, "executor", name, "err", err)
			if a != nil {
				_ = e.st.StepSetCleanup(ctx, &store.StepSetCleanupParams{
					RunID: o.RunID, Name: o.Step, Attempt: o.Attempt, Error: err.Error(), Tries: a.CleanupTries + 1,
				})
			}
			continue
		}
		removed++
		if a != nil {
			err := e.st.StepSetCleanup(ctx, &store.StepSetCleanupParams{
				RunID: o.RunID, Name: o.Step, Attempt: o.Attempt, Removed: true, Tries: a.CleanupTries + 1,
			})
			if err != nil {
				e.log.Error("record cleanup", "run_id", o.RunID, "step", o.Step, "err", err)
			}
		}
	}
	return removed, nil
}

// reapUnremoved finishes removals a crash cut short after the container
// was gone but before that was recorded: removing again is harmless, and
// records it. It also tries again those that failed (see janitor).
func (e *Engine) reapUnremoved(ctx context.Context) error {
	_, err := e.retryRemovals(ctx)
	return err
}

// retryRemovals removes, again, every ended attempt not known to be
// removed whose run this engine does not drive, and returns how many still
// fail.
func (e *Engine) retryRemovals(ctx context.Context) (int, error) {
	failing := 0
	unremoved, err := e.st.AttemptListUnremoved(ctx)
	if err != nil {
		return 0, fmt.Errorf("engine: reap: %w", err)
	}
	unfinished := make(map[string]bool) // by run, on a shared store
	for _, a := range unremoved {
		if e.drives(a.RunID) {
			continue // likewise; removing it here too would race the runner's removal
		}
		if e.cfg.Shared {
			open, ok := unfinished[a.RunID]
			if !ok {
				run, err := e.st.RunGet(ctx, a.RunID)
				open = err != nil || !run.Status.Terminal()
				unfinished[a.RunID] = open
			}
			if open {
				continue // another server drives the run, and removes this
			}
		}
		var h executor.Handle
		if json.Unmarshal(a.Handle, &h) != nil {
			continue
		}
		if err := e.checkOwner(&h); err != nil {
			// Another executor's to remove: never marked removed here.
			if a.CleanupError != err.Error() {
				p := &store.StepSetCleanupParams{RunID: a.RunID, Name: a.Step, Attempt: a.Attempt, Tries: a.CleanupTries, Error: err.Error()}
				if err := e.st.StepSetCleanup(ctx, p); err != nil {
					e.log.Error("record cleanup", "run_id", a.RunID, "step", a.Step, "err", err)
				}
			}
			continue
		}
		p := &store.StepSetCleanupParams{RunID: a.RunID, Name: a.Step, Attempt: a.Attempt, Tries: a.CleanupTries + 1, Removed: true}
		if err := e.remove(ctx, &h); err != nil {
			p.Removed, p.Error = false, err.Error()
			failing++
			e.cfg.Metrics.CleanupFailures.WithLabelValues(h.Executor).Inc()
			e.log.Warn("remove attempt", "run_id", a.RunID, "step", a.Step, "attempt", a.Attempt, "try", p.Tries, "err", err)
		}
		if err := e.st.StepSetCleanup(ctx, p); err != nil {
			e.log.Error("record cleanup", "run_id", a.RunID, "step", a.Step, "err", err)
		}
	}
	return failing, nil
}

// drives reports whether a runner of this engine drives the run.
func (e *Engine) drives(runID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.runs[runID]
	return ok
}

// findHandle looks for an attempt the executor named exec started but
// whose handle never reached the store, as when baton stopped between the
// two.
func (e *Engine) findHandle(ctx context.Context, exec, runID, step string, attempt int) *executor.Handle {
	owned, ok, err := e.listOwned(ctx, exec)
	if !ok {
		return nil
	}
	if err != nil {
		e.log.Warn("look for an attempt without handle", "run_id", runID, "step", step, "executor", exec, "err", err)
		return nil
	}
	for _, o := range owned {
		if o.RunID == runID && o.Step == step && o.Attempt == attempt {
			raw, _ := json.Marshal(o.Handle)
			_ = e.st.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: runID, Name: step, Attempt: attempt, Handle: raw})
			return o.Handle
		}
	}
	return nil
}

// lastLogTime returns the time of the last line stored for an attempt, so a
// re-attached log stream does not store lines twice.
func (e *Engine) lastLogTime(ctx context.Context, runID, step string, attempt int) time.Time {
	var last time.Time
	var after int64
	for {
		rows, err := e.st.LogList(ctx, &store.LogListParams{RunID: runID, Step: step, AfterSeq: after})
		if err != nil || len(rows) == 0 {
			return last
		}
		for _, r := range rows {
			if r.Attempt == attempt && r.Time.After(last) {
				last = r.Time
			}
			after = r.Seq
		}
	}
}

// foreignNote starts the note a run gets while it waits for a server with
// its executor.
const foreignNote = "waiting for a server with executor "

// adopt reports whether this engine may drive a run it finds unfinished. A
// run only ever runs on the executors it was made for: its own and those
// its steps name. A run needing one this engine does not have is left as
// it is (never failed, never run here), with a note saying why, until a
// server with it picks the run up. With spec nil, only the run's own
// executor is checked, and a stale note is left for the full check.
func (e *Engine) adopt(ctx context.Context, run *store.RunRow, spec *pipeline.Spec) bool {
	missing := e.lacking(run.Executor, spec)
	if run.Executor != "" && missing == "" {
		if spec != nil && strings.HasPrefix(run.Error, foreignNote) {
			// A server without the executor left the note; it is stale.
			_ = e.st.RunSetStatus(ctx, &store.RunSetStatusParams{ID: run.ID, Status: run.Status, Now: e.cfg.Now()})
			run.Error = ""
		}
		return true
	}
	e.log.Warn("run left alone: it needs an executor this server does not have", "run_id", run.ID, "run_executor", run.Executor, "missing", missing, "executors", e.names)
	note := fmt.Sprintf("%s%q: the run was made for it, and this server has %s; start baton with that executor (--executor %s, or in its config file) on this data to go on", foreignNote, missing, e.quotedNames(), missing)
	if run.Executor == "" {
		note = foreignNote + "(unknown): the run records no executor, so no server runs it; cancel it and start it again"
	}
	if run.Error != note {
		err := e.st.RunSetStatus(ctx, &store.RunSetStatusParams{ID: run.ID, Status: run.Status, Error: note, Now: e.cfg.Now()})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			e.log.Error("record why a run waits", "run_id", run.ID, "err", err)
		}
	}
	return false
}
