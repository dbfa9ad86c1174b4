package api

import (
	"context"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// withChildRuns names, on each attempt of a step that runs a pipeline,
// the run it started.
func withChildRuns(ctx context.Context, eng *engine.Engine, st store.Store, run *store.RunRow, steps []Step) error {
	spec, _, err := eng.Spec(ctx, run.Pipeline, run.Revision)
	if err != nil {
		return nil // the run view does without
	}
	calls := make(map[string]bool)
	for _, s := range spec.Steps {
		if s.Pipeline != nil {
			calls[s.Name] = true
		}
	}
	for i := range steps {
		name := steps[i].Name
		if steps[i].Instance != nil {
			name = steps[i].Instance.Of // an instance of a fan-out step runs what it does
		}
		if !calls[name] {
			continue
		}
		for j := range steps[i].Attempts {
			a := &steps[i].Attempts[j]
			found, err := st.RunList(ctx, &store.RunListParams{Key: engine.ChildKey(run.ID, steps[i].Name, a.Attempt), Limit: 1})
			if err != nil {
				return err
			}
			if len(found) == 1 {
				a.ChildRun = found[0].ID
			}
		}
	}
	return nil
}
