package swarm

import (
	"fmt"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
)

var _ executor.Checker = (*Executor)(nil)

// CheckSpec implements [executor.Checker]. It refuses every spec
// [Executor.Start] would refuse from what a pipeline fixes, before making
// anything: one with no image or an image reference the engines cannot
// parse, a pull policy or capability baton does not know, secret names
// that are not plain file names, and limits below what the nodes' engines
// and kernels enforce (see [docker.CheckLimits]). What depends on the
// swarm when the step runs (which nodes have the image, which answer) and
// on the secrets' values is left to Start.
func (e *Executor) CheckSpec(spec *executor.Spec) error {
	if spec.Image == "" {
		return fmt.Errorf("swarm: %w: step %q has no image; add image: to the step", executor.ErrImageNotFound, spec.Step)
	}
	if err := docker.CheckImageRef(spec.Image); err != nil {
		return fmt.Errorf("swarm: step %q: %w", spec.Step, err)
	}
	if err := docker.CheckPull(spec.Pull); err != nil {
		return fmt.Errorf("swarm: step %q: %w", spec.Step, err)
	}
	if err := executor.CheckSecretNames(spec.Secrets); err != nil {
		return fmt.Errorf("swarm: %w", err)
	}
	if _, err := capAdd(spec.CapAdd); err != nil {
		return err
	}
	if err := docker.CheckLimits(e.limits(spec.Limits)); err != nil {
		return fmt.Errorf("swarm: step %q: %w", spec.Step, err)
	}
	return nil
}

// maxSecretBytes is the most a swarm secret may hold.
const maxSecretBytes = 500 << 10

// check refuses a spec before anything is made for it: what
// [Executor.CheckSpec] refuses, and secrets swarm cannot hold. It returns
// the spec's capabilities in the engine's spelling.
func (e *Executor) check(spec *executor.Spec) ([]string, error) {
	if err := e.CheckSpec(spec); err != nil {
		return nil, err
	}
	for name, data := range spec.Secrets {
		if len(data) == 0 || len(data) > maxSecretBytes {
			return nil, fmt.Errorf("swarm: secret %q of step %q holds %d bytes; a swarm secret holds 1 byte to 500 KiB", name, spec.Step, len(data))
		}
	}
	return capAdd(spec.CapAdd)
}

// capAdd validates capability names; see [executor.Capabilities].
func capAdd(names []string) ([]string, error) {
	caps, err := executor.Capabilities(names)
	if err != nil {
		return nil, fmt.Errorf("swarm: %w", err)
	}
	return caps, nil
}
