package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/pipeline"
)

// executorSet returns the engine's executors by registry name and the
// default's name, from [Config.Executors] or, without them,
// [Config.Executor].
func executorSet(cfg *Config) (map[string]executor.Executor, string, error) {
	execs := maps.Clone(cfg.Executors)
	if len(execs) == 0 {
		if cfg.Executor == nil {
			return nil, "", errors.New("engine: an executor is required")
		}
		execs = map[string]executor.Executor{cfg.Executor.Name(): cfg.Executor}
	} else if cfg.Executor != nil {
		return nil, "", errors.New("engine: give Executors or Executor, not both")
	}
	for name, x := range execs {
		if x == nil {
			return nil, "", fmt.Errorf("engine: executor %q is nil", name)
		}
	}
	def := cfg.DefaultExecutor
	switch {
	case def == "" && len(execs) == 1:
		for name := range execs {
			def = name
		}
	case def == "":
		return nil, "", fmt.Errorf("engine: %d executors and no default; name one of %s", len(execs), strings.Join(slices.Sorted(maps.Keys(execs)), ", "))
	default:
		if _, ok := execs[def]; !ok {
			return nil, "", fmt.Errorf("engine: default executor %q is not one of %s", def, strings.Join(slices.Sorted(maps.Keys(execs)), ", "))
		}
	}
	return execs, def, nil
}

// runExecutor is the executor a new run of spec is made for: the
// pipeline's, else the engine's default.
func (e *Engine) runExecutor(spec *pipeline.Spec) string {
	if spec.Executor != "" {
		return spec.Executor
	}
	return e.def
}

// stepExecutor is the executor a step of a run runs on: its own, else the
// run's. It is fixed by the run's pinned revision, so every life of the
// engine runs the step in the same place.
func stepExecutor(st *pipeline.Step, runExec string) string {
	if st.Executor != "" {
		return st.Executor
	}
	return runExec
}

// lacking returns the first executor a run made for runExec needs that the
// engine does not have, or "" when it has them all.
func (e *Engine) lacking(runExec string, spec *pipeline.Spec) string {
	if _, ok := e.execs[runExec]; !ok {
		return runExec
	}
	if spec == nil {
		return ""
	}
	for i := range spec.Steps {
		if name := stepExecutor(&spec.Steps[i], runExec); e.execs[name] == nil {
			return name
		}
	}
	return ""
}
