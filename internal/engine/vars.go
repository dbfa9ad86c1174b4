package engine

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/pipeline"
)

// stepVars returns the variables a step sees: the run's own variables, then
// the outputs of every step it depends on, a later step's value replacing an
// earlier one's. Two steps that are not ordered with each other and both
// wrote a name make the variable ambiguous: that is an error naming both.
func stepVars(spec *pipeline.Spec, base map[string]string, outputs map[string]map[string]string, step string) (map[string]string, error) {
	vars := maps.Clone(base)
	if vars == nil {
		vars = make(map[string]string)
	}
	writer := make(map[string]string) // variable name → step whose value it holds
	for _, anc := range spec.Ancestors(step) {
		for name, value := range outputs[anc] {
			if prev, ok := writer[name]; ok && !spec.Ordered(prev, anc) {
				a, b := prev, anc
				if a > b {
					a, b = b, a
				}
				return nil, fmt.Errorf("variable %q is written by both step %q and step %q, which do not depend on each other; rename one output or add needs: so one runs after the other", name, a, b)
			}
			writer[name] = anc
			vars[name] = value
		}
	}
	return vars, nil
}

// runVars returns every variable of a run: its own, then each succeeded
// step's outputs in step order.
func runVars(spec *pipeline.Spec, base map[string]string, outputs map[string]map[string]string) map[string]string {
	vars := maps.Clone(base)
	if vars == nil {
		vars = make(map[string]string)
	}
	for _, name := range spec.Order() {
		maps.Copy(vars, outputs[name])
	}
	return vars
}

// countVars checks the per-run limit on distinct variable names, counting
// outputs a step is about to add.
func countVars(base map[string]string, outputs map[string]map[string]string, adding map[string]string) error {
	names := make(map[string]struct{}, len(base))
	for n := range base {
		names[n] = struct{}{}
	}
	for _, out := range outputs {
		for n := range out {
			names[n] = struct{}{}
		}
	}
	for n := range adding {
		names[n] = struct{}{}
	}
	if len(names) > contract.MaxVariables {
		return fmt.Errorf("run would hold %d variables, more than the limit of %d; return fewer outputs", len(names), contract.MaxVariables)
	}
	return nil
}

// stepEnv builds a step's environment: its variables under the pipeline's
// prefix, the contract's own variables, then the step's static env.
func stepEnv(spec *pipeline.Spec, st *pipeline.Step, vars map[string]string, runID string, attempt int, callbackURL, token string) map[string]string {
	env := make(map[string]string, len(vars)+len(st.Env)+5)
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		env[spec.EnvPrefix+name] = vars[name]
	}
	maps.Copy(env, st.Env)
	env["BATON_RUN_ID"] = runID
	env["BATON_STEP"] = st.Name
	env["BATON_ATTEMPT"] = strconv.Itoa(attempt)
	// The token is not put here: executors deliver it from the spec, as a
	// file wherever they can (see executor.Spec.Token).
	if callbackURL != "" {
		env["BATON_CALLBACK_URL"] = callbackURL
	}
	return env
}
