package process

import (
	"fmt"
	"strings"

	"github.com/baton-dev/baton/internal/executor"
)

// CheckSpec implements [executor.Checker]. It refuses every spec
// [Executor.Start] would refuse from the spec alone, before making
// anything: one with no command, one that asks for what a plain process
// cannot be held to (a user, a read-only root, capabilities, resource
// limits), and secret names that are not plain file names. Whether the
// command can be found is left to Start: that depends on the run's PATH
// and on what is on the host when the step runs. The step's image and
// pull policy mean nothing here and are not checked.
func (e *Executor) CheckSpec(spec *executor.Spec) error {
	if len(spec.Command) == 0 {
		return fmt.Errorf("process: step %q has no command; add command: to the step", spec.Step)
	}
	if err := unsupported(spec); err != nil {
		return err
	}
	if err := executor.CheckSecretNames(spec.Secrets); err != nil {
		return fmt.Errorf("process: %w", err)
	}
	return nil
}

// unsupported refuses what a plain process cannot be held to, so that a
// step's policy is never silently dropped. Resource limits are among them:
// setrlimit has no per-attempt process count (RLIMIT_NPROC counts every
// process of the user), limits address space rather than memory
// (RLIMIT_AS), and cannot be set on a child before it runs from Go.
func unsupported(spec *executor.Spec) error {
	var what []string
	if spec.User != "" {
		what = append(what, "user")
	}
	if spec.ReadOnlyRoot {
		what = append(what, "a read-only root")
	}
	if len(spec.CapAdd) > 0 {
		what = append(what, "capabilities")
	}
	if spec.Limits != (executor.Limits{}) {
		what = append(what, "resource limits")
	}
	if len(what) == 0 {
		return nil
	}
	return fmt.Errorf("process: step %q asks for %s, which the process executor cannot enforce; run it with the docker executor or remove them from the step",
		spec.Step, strings.Join(what, ", "))
}
