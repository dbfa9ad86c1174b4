package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// condSkipReason starts the error of a step skipped because its if: was
// false. It is how a restarted engine tells such a step, whose dependents
// run, from one skipped because a step it needs failed.
const condSkipReason = "skipped: its condition (if:) is false"

// skippedByCondition reports whether a step's stored end says its if: was
// false.
func skippedByCondition(status store.StepStatus, reason string) bool {
	return status == store.StepSkipped && strings.HasPrefix(reason, condSkipReason)
}

// needMet reports whether a step that needs step may go on: step
// succeeded, or its condition skipped it.
func (r *runner) needMet(step string) bool {
	return r.status[step] == store.StepSucceeded || r.condSkipped[step]
}

// mainEnded reports whether every step but the finally steps has ended.
func (r *runner) mainEnded() bool {
	for i := range r.spec.Steps {
		st := &r.spec.Steps[i]
		if !st.Finally && !r.status[st.Name].Terminal() {
			return false
		}
	}
	return true
}

// hasFinally reports whether the pipeline has finally steps.
func (r *runner) hasFinally() bool {
	for i := range r.spec.Steps {
		if r.spec.Steps[i].Finally {
			return true
		}
	}
	return false
}

// finallyRunner begins the run's finally phase, once its other steps have
// ended, and returns the runner that drives it: what ended those steps (a
// cancel, the run's timeout) is kept for the run's end, and the finally
// steps get a context of their own, which neither a cancel nor the run's
// timeout ends: they run whatever happened, each bound by its own timeout.
// A shutdown, or another server claiming the run, still stops them, for the
// next life to go on with. Cancels reach the new runner: it replaces r
// among the engine's runs.
func (r *runner) finallyRunner() *runner {
	if r.timeout != nil {
		r.timeout.Stop()
	}
	f := *r
	f.finally = true
	f.mainCause = r.cause()
	ctx, cancel := context.WithCancelCause(r.e.ctx)
	f.ctx = ctx
	f.cancel = func(cause error) {
		if cause != nil && (errors.Is(cause, errCanceled) || errors.Is(cause, errRunTimeout)) {
			return // asked again, or late: the finally steps run on
		}
		cancel(cause)
	}
	f.done = make(chan stepDone, len(r.spec.Steps))
	r.e.mu.Lock()
	if r.e.runs[r.run.ID] == r {
		r.e.runs[r.run.ID] = &f
	}
	r.e.mu.Unlock()
	return &f
}

// cause is what ended the run's steps early, if anything: a cancel, the
// run's timeout, a shutdown.
func (r *runner) cause() error {
	if r.mainCause != nil {
		return r.mainCause
	}
	if r.ctx.Err() != nil {
		return context.Cause(r.ctx)
	}
	return nil
}

// tally says how the run's steps ended (the finally steps too, with
// finally): the status the run ends with, the failed steps in listed order,
// and, when a cancel or the run's timeout ended it early, why.
func (r *runner) tally(finally bool) (status store.RunStatus, failed []string, why string) {
	status = store.RunSucceeded
	for i := range r.spec.Steps {
		st := &r.spec.Steps[i]
		if st.Finally && !finally {
			continue
		}
		switch r.status[st.Name] {
		case store.StepFailed:
			status = store.RunFailed
			failed = append(failed, st.Name)
		case store.StepCanceled:
			if status == store.RunSucceeded {
				status = store.RunCanceled
			}
		}
	}
	switch cause := r.cause(); {
	case cause == nil:
	case errors.Is(cause, errCanceled):
		// A cancel stands, however the finally steps ended.
		status, why = store.RunCanceled, cause.Error()
	case errors.Is(cause, errRunTimeout):
		status, why = store.RunFailed, cause.Error()
	}
	return status, failed, why
}

// outcome says how the run's steps but the finally steps ended: the status
// the run would end with, and the first failed step and why the run failed
// or was stopped.
func (r *runner) outcome() (status store.RunStatus, failedStep, reason string) {
	status, failed, why := r.tally(false)
	if len(failed) > 0 {
		failedStep, reason = failed[0], r.errs[failed[0]]
	}
	if why != "" {
		reason = why
	}
	return status, failedStep, reason
}

// finallyEnv is what a finally step sees of how the other steps ended.
func (r *runner) finallyEnv() map[string]string {
	status, step, reason := r.outcome()
	return map[string]string{"BATON_RUN_STATUS": string(status), "BATON_FAILED_STEP": step, "BATON_RUN_ERROR": reason}
}

// condition evaluates a ready step's if: over the run as it stands.
func (r *runner) condition(st *pipeline.Step) (bool, error) {
	ok, err := r.spec.Condition(st, r.conditionInput(st))
	if err != nil {
		return false, fmt.Errorf("if: %w", err)
	}
	return ok, nil
}

// conditionInput is the run as a step's templates (its if:, a
// sub-pipeline's params) see it now.
func (r *runner) conditionInput(st *pipeline.Step) *pipeline.ConditionInput {
	vars := runVars(r.spec, r.run.Vars, r.outputs)
	r.itemVars(st.Name, vars)
	in := &pipeline.ConditionInput{
		Params: r.run.Params,
		Vars:   vars,
		Run:    pipeline.RunFacts{ID: r.run.ID, Time: r.run.CreatedAt},
		Status: string(store.RunRunning),
		Steps:  make(map[string]string, len(r.status)),
	}
	for name, s := range r.status {
		in.Steps[name] = string(s)
	}
	if st.Finally {
		status, step, reason := r.outcome()
		in.Status, in.FailedStep, in.Error = string(status), step, reason
	}
	return in
}
