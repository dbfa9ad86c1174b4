package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// RerunParams are the arguments of [Engine.Rerun].
type RerunParams struct {
	RunID string
	// From is the step to start again from: it and every step that depends
	// on it run again, the others keep their outputs. Empty means every step
	// that did not succeed runs again.
	From string
	// Params replace the earlier run's params of the same names.
	Params map[string]string
}

// Rerun starts a new run of the same pipeline revision as an ended run,
// keeping the outputs of the steps that need not run again. Bad input wraps
// [ErrInvalid], and then no run is created.
func (e *Engine) Rerun(ctx context.Context, p *RerunParams) (*store.RunRow, error) {
	old, err := e.st.RunGet(ctx, p.RunID)
	if err != nil {
		return nil, fmt.Errorf("engine: re-run %s: %w", p.RunID, err)
	}
	if !old.Status.Terminal() {
		return nil, fmt.Errorf("%w: run %s is %s; wait for it to end or cancel it first", ErrInvalid, old.ID, old.Status)
	}
	if _, ok := e.execs[old.Executor]; !ok {
		// A re-run runs where its run ran: steps meant for containers
		// never become host processes by way of a re-run.
		return nil, fmt.Errorf("%w: run %s ran on executor %q, which this server does not have (it has %s); re-run it on a server with that executor", ErrInvalid, old.ID, old.Executor, e.quotedNames())
	}
	spec, _, err := e.Spec(ctx, old.Pipeline, old.Revision)
	if err != nil {
		return nil, err
	}
	steps, err := e.st.StepList(ctx, old.ID)
	if err != nil {
		return nil, fmt.Errorf("engine: re-run %s: %w", p.RunID, err)
	}
	again, err := rerunSteps(spec, p.From)
	if err != nil {
		return nil, err
	}
	done := make(map[string]map[string]string)
	for _, s := range steps {
		if s.Parent != "" {
			continue // an instance: the fan-out step runs them again, or keeps its outputs
		}
		if s.Status == store.StepSucceeded && !again[s.Name] {
			done[s.Name] = s.Outputs
		}
	}
	if len(done) == len(spec.Steps) {
		return nil, fmt.Errorf("%w: every step of run %s succeeded; name a step to run again with from", ErrInvalid, old.ID)
	}
	given := maps.Clone(old.Params)
	if given == nil {
		given = make(map[string]string)
	}
	maps.Copy(given, p.Params)
	run, err := e.create(ctx, spec, old.Revision, given, done, createOpts{retryOf: old.ID, exec: old.Executor})
	if err != nil {
		return nil, err
	}
	if err := e.start(run, spec, false); err != nil {
		return run, err
	}
	return run, nil
}

// rerunSteps returns the steps a re-run from a step runs again: that step and
// every step that depends on it. Without a step, none are forced.
func rerunSteps(spec *pipeline.Spec, from string) (map[string]bool, error) {
	again := make(map[string]bool)
	if from == "" {
		return again, nil
	}
	names := make([]string, len(spec.Steps))
	for i, s := range spec.Steps {
		names[i] = s.Name
	}
	if !slices.Contains(names, from) {
		return nil, fmt.Errorf("%w: pipeline %q has no step %q; its steps are %s", ErrInvalid, spec.Name, from, strings.Join(names, ", "))
	}
	for _, name := range names {
		if name == from || slices.Contains(spec.Ancestors(name), from) {
			again[name] = true
		}
	}
	return again, nil
}
