package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// ChildKey names the run attempt n of a sub-pipeline step starts, unique
// among runs: a restarted engine finds the child instead of starting
// another (see [store.RunCreateParams.Key]).
func ChildKey(runID, step string, n int) string {
	return fmt.Sprintf("child:%s/%s/%d", runID, step, n)
}

// childCancelWait bounds how long a stopped sub-pipeline step waits for
// its child run to end after canceling it.
const childCancelWait = 2 * time.Minute

// childAttempt is attempt n of a step that runs a pipeline: it starts a
// run of the pipeline's latest revision (or, resumed, finds the one it
// started before a restart), waits for it, and ends as it ended, taking
// the variables the step names as outputs. A cancel of the run, or the
// step's timeout, cancels the child. Nothing runs on an executor: the
// child's own steps do.
func (r *runner) childAttempt(st *pipeline.Step, n int, resumed bool) outcome {
	ctx := context.WithoutCancel(r.ctx)
	started := r.e.cfg.Now()
	if resumed {
		if a, err := r.e.st.AttemptGet(ctx, r.run.ID, st.Name, n); err == nil && !a.StartedAt.IsZero() {
			started = a.StartedAt
		}
	} else {
		if o, stopped := r.stopped(); stopped {
			return o
		}
		err := r.e.st.StepStart(ctx, &store.StepStartParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: st.Name, Attempt: n, Now: started})
		if err != nil {
			return outcome{status: store.StepFailed, err: fmt.Sprintf("record attempt start: %v", err)}
		}
		r.e.changes.signal(r.run.ID)
	}
	fail := func(retryable bool, format string, args ...any) outcome {
		return outcome{status: store.StepFailed, attempt: n, err: fmt.Sprintf(format, args...), retryable: retryable}
	}
	child, err := r.child(ctx, st, n)
	if err != nil {
		return fail(true, "%v", err)
	}
	r.logf("waiting for child run", "step", st.Name, "attempt", n, "child_run", child.ID)
	var deadline <-chan time.Time
	if st.Timeout > 0 {
		t := time.NewTimer(max(st.Timeout-r.e.cfg.Now().Sub(started), 0))
		defer t.Stop()
		deadline = t.C
	}
	for {
		changed := r.e.changes.watch(child.ID)
		run, err := r.e.st.RunGet(ctx, child.ID)
		if err != nil {
			return fail(true, "read child run %s: %v", child.ID, err)
		}
		if run.Status.Terminal() {
			return r.childEnded(st, n, run)
		}
		var poll <-chan time.Time
		var pollTimer *time.Timer
		if !r.e.drives(child.ID) {
			// Another server drives it (or it waits for one): its
			// changes may come only as signals.
			pollTimer = time.NewTimer(fleetPoll)
			poll = pollTimer.C
		}
		stop := func() {
			if pollTimer != nil {
				pollTimer.Stop()
			}
		}
		select {
		case <-changed:
			stop()
		case <-poll:
		case <-deadline:
			stop()
			r.logf("step timed out; canceling its child run", "step", st.Name, "child_run", child.ID)
			r.cancelChild(child.ID)
			return r.waitChildEnd(child.ID, fail(true, "timed out after %s; child run %s canceled", st.Timeout, child.ID))
		case <-r.ctx.Done():
			stop()
			if errors.Is(context.Cause(r.ctx), errShutdown) {
				return outcome{} // left as stored: the next life finds the child by its key
			}
			r.cancelChild(child.ID)
			o, _ := r.stopped()
			o.attempt = n
			return r.waitChildEnd(child.ID, o)
		}
	}
}

// child returns the run attempt n of st started, starting it if it has
// not yet: with the params the step's templates give now.
func (r *runner) child(ctx context.Context, st *pipeline.Step, n int) (*store.RunRow, error) {
	key := ChildKey(r.run.ID, st.Name, n)
	found, err := r.e.st.RunList(ctx, &store.RunListParams{Key: key, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("look for the child run: %w", err)
	}
	if len(found) == 1 {
		return found[0], r.driveChild(ctx, found[0])
	}
	in := r.launchedOf(st.Name).cond // the loop's state as the step was launched
	params, err := r.spec.SubPipelineParams(st, in)
	if err != nil {
		return nil, fmt.Errorf("pipeline %q: %w", st.Pipeline.Name, err)
	}
	spec, rev, err := r.e.Spec(ctx, st.Pipeline.Name, 0)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("pipeline %q does not exist; apply it, or change the step's pipeline:", st.Pipeline.Name)
		}
		return nil, fmt.Errorf("pipeline %q: %w", st.Pipeline.Name, err)
	}
	run, err := r.e.create(ctx, spec, rev, params, nil, createOpts{
		exec: r.e.runExecutor(spec), key: key,
		parent: store.RunParent{RunID: r.run.ID, Step: st.Name, Attempt: n},
	})
	var taken *store.RunKeyExistsError
	switch {
	case errors.As(err, &taken):
		run = taken.Run
	case err != nil:
		return nil, fmt.Errorf("start a run of pipeline %q: %w", st.Pipeline.Name, err)
	}
	return run, r.driveChild(ctx, run)
}

// driveChild makes sure this engine drives the child run if nobody does,
// as after a restart that found it; a child another server drives is left
// to it.
func (r *runner) driveChild(ctx context.Context, run *store.RunRow) error {
	if run.Status.Terminal() || r.e.drives(run.ID) {
		return nil
	}
	if run.Lease.Owner != r.e.cfg.ServerID {
		claimed, err := r.e.claim(ctx, 1, run.ID)
		if err != nil || len(claimed) == 0 {
			return nil // another server's; its owner drives it
		}
		run = claimed[0]
	}
	spec, _, err := r.e.Spec(ctx, run.Pipeline, run.Revision)
	if err != nil {
		return fmt.Errorf("child run %s: %w", run.ID, err)
	}
	if err := r.e.start(run, spec, false); err != nil && !errors.Is(err, errShutdown) {
		return fmt.Errorf("child run %s: %w", run.ID, err)
	}
	return nil
}

// cancelChild cancels a child run, wherever it runs.
func (r *runner) cancelChild(id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 30*time.Second)
	defer cancel()
	if err := r.e.Cancel(ctx, id); err != nil && !errors.Is(err, ErrFinished) {
		r.e.log.Warn("cancel child run", "run_id", r.run.ID, "child_run", id, "err", err)
	}
}

// waitChildEnd waits, bounded, for a canceled child run to end, so the
// step ends after it; then it returns o.
func (r *runner) waitChildEnd(id string, o outcome) outcome {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), childCancelWait)
	defer cancel()
	if _, err := r.e.Wait(ctx, id); err != nil {
		r.e.log.Warn("wait for a canceled child run", "run_id", r.run.ID, "child_run", id, "err", err)
	}
	return o
}

// childEnded is how attempt n ends once its child run has.
func (r *runner) childEnded(st *pipeline.Step, n int, child *store.RunRow) outcome {
	o := outcome{attempt: n}
	switch child.Status {
	case store.RunSucceeded:
	case store.RunCanceled:
		o.status, o.err, o.retryable = store.StepFailed, fmt.Sprintf("child run %s was canceled", child.ID), true
		return o
	default:
		o.status, o.err, o.retryable = store.StepFailed, fmt.Sprintf("child run %s %s: %s", child.ID, child.Status, child.Error), true
		return o
	}
	ctx := context.WithoutCancel(r.ctx)
	steps, err := r.e.st.StepList(ctx, child.ID)
	if err == nil {
		var vars map[string]string
		if vars, err = r.e.Vars(ctx, child, steps); err == nil {
			o.outputs = make(map[string]string, len(st.Pipeline.Outputs))
			for _, name := range st.Pipeline.Outputs {
				v, ok := vars[name]
				if !ok {
					o.status, o.err = store.StepFailed, fmt.Sprintf("child run %s succeeded without the variable %q the step takes as an output", child.ID, name)
					o.outputs = nil
					return o
				}
				o.outputs[name] = v
			}
			o.status = store.StepSucceeded
			return o
		}
	}
	o.status, o.err, o.retryable = store.StepFailed, fmt.Sprintf("read child run %s's variables: %v", child.ID, err), true
	return o
}

// checkSubPipelines refuses a pipeline whose steps would run it again,
// through the pipelines they run as they are stored now. A pipeline that
// does not exist yet is not refused: it may be applied later, and a step
// that runs one that still does not exist fails saying so.
func (e *Engine) checkSubPipelines(ctx context.Context, spec *pipeline.Spec) error {
	seen := make(map[string]bool)
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		path = append(path, name)
		if name == spec.Name {
			return fmt.Errorf("%w: pipeline %q would run itself: %s; a pipeline may not run itself through others", ErrInvalid, spec.Name, strings.Join(path, " → "))
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		child, _, err := e.Spec(ctx, name, 0)
		if err != nil {
			return nil
		}
		for i := range child.Steps {
			if sp := child.Steps[i].Pipeline; sp != nil {
				if err := visit(sp.Name, path); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i := range spec.Steps {
		if sp := spec.Steps[i].Pipeline; sp != nil {
			if err := visit(sp.Name, []string{spec.Name}); err != nil {
				return err
			}
		}
	}
	return nil
}
