package engine

import (
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/pipeline"
)

// checkSteps asks the executor of each of spec's steps whether it can run
// the step as the pipeline writes it (see [executor.Checker]), so that a
// step its executor could never start is refused when the pipeline is
// applied, with the executor's reason.
func (e *Engine) checkSteps(spec *pipeline.Spec) error {
	runExec := e.runExecutor(spec)
	var errs []error
	for i := range spec.Steps {
		st := &spec.Steps[i]
		if st.Approval != nil || st.Pipeline != nil {
			continue // it runs on no executor
		}
		name := stepExecutor(st, runExec)
		c, ok := e.execs[name].(executor.Checker)
		if !ok {
			continue
		}
		if err := c.CheckSpec(e.fixedSpec(st)); err != nil {
			errs = append(errs, fmt.Errorf("step %q cannot run on executor %q: %w", st.Name, name, err))
		}
	}
	return errors.Join(errs...)
}

// fixedSpec is what every attempt of st is started with that the
// pipeline fixes: its attempts' specs without the run's values, and with
// the secrets' names but not their values.
func (e *Engine) fixedSpec(st *pipeline.Step) *executor.Spec {
	var secrets map[string][]byte
	for _, ref := range st.Secrets {
		if ref.Env == "" {
			if secrets == nil {
				secrets = make(map[string][]byte)
			}
			secrets[ref.Name] = nil
		}
	}
	return &executor.Spec{
		Step: st.Name, Attempt: 1,
		Image: st.Image, Command: st.Command, Pull: st.Pull,
		Secrets: secrets, Limits: e.limits(st), User: st.User, ReadOnlyRoot: st.ReadOnly, CapAdd: st.CapAdd,
		Timeout: st.Timeout,
	}
}
