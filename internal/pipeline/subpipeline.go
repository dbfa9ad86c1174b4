package pipeline

import (
	"fmt"
	"maps"
	"slices"

	"github.com/baton-dev/baton/internal/contract"
	"gopkg.in/yaml.v3"
)

// SubPipeline makes a step start a run of another pipeline (its latest
// revision), wait for it, and take some of its variables as outputs.
type SubPipeline struct {
	// Name is the pipeline to run.
	Name string
	// Params are templates, evaluated when the step starts over what a
	// condition sees (see [ConditionInput]), that give the child's params.
	Params map[string]string
	// Outputs are the child's variables the step takes as its own outputs,
	// once the child succeeded.
	Outputs []string
}

// subPipelineExcludes are the step fields a step that runs a pipeline
// has no use for, each with what to do instead.
var subPipelineExcludes = []struct{ field, instead string }{
	{"image", "the pipeline's steps say what they run"},
	{"command", "the pipeline's steps say what they run"},
	{"env", "pass values as params instead"},
	{"secrets", "the pipeline's steps name the secrets they need"},
	{"pull", "the pipeline's steps say how they pull"},
	{"resources", "the pipeline's steps set their resources"},
	{"user", "the pipeline's steps set their users"},
	{"read_only", "the pipeline's steps set read_only"},
	{"cap_add", "the pipeline's steps set their capabilities"},
	{"executor", "the pipeline says where its steps run"},
	{"approval", "a step either waits for a person or runs a pipeline; split it in two"},
}

// subPipeline reads pipeline:, params: and outputs: of a step (f are its
// fields) and refuses the fields such a step has no use for.
func (p *parser) subPipeline(f map[string]*yaml.Node, field string) *SubPipeline {
	v := f["pipeline"]
	for _, x := range subPipelineExcludes {
		if n, ok := f[x.field]; ok {
			p.errorf(p.resolve(n), field+"."+x.field, "cannot be set on a step that runs a pipeline: %s", x.instead)
		}
	}
	sp := &SubPipeline{}
	if name, ok := p.str(v, field+".pipeline"); ok {
		if problem := identProblem(name); problem != "" {
			p.errorf(v, field+".pipeline", "%.64q %s", name, problem)
		}
		sp.Name = name
	}
	if n, ok := f["params"]; ok {
		entries, _ := p.pairs(n, field+".params", "e.g. params: {region: eu, version: '{{ .Vars.version }}'}")
		sp.Params = make(map[string]string, len(entries))
		for _, e := range entries {
			at, name := &yaml.Node{Line: e.line}, field+".params."+e.key
			if err := contract.ValidName(e.key); err != nil {
				p.errorf(at, name, "is not a valid param name: %v", err)
				continue
			}
			text, ok := p.str(e.value, name)
			if !ok {
				continue
			}
			if _, err := parseVarTemplate(name, text); err != nil {
				p.errorf(e.value, name, "%v", err)
				continue
			}
			sp.Params[e.key] = text
		}
	}
	if n, ok := f["outputs"]; ok {
		names, _ := p.strings(n, field+".outputs", "[url, version]")
		seen := make(map[string]bool, len(names))
		for _, name := range names {
			switch err := contract.ValidName(name); {
			case err != nil:
				p.errorf(p.resolve(n), field+".outputs", "%.64q is not a variable name: %v", name, err)
			case seen[name]:
				p.errorf(p.resolve(n), field+".outputs", "%q is listed twice; list it once", name)
			}
			seen[name] = true
		}
		sp.Outputs = names
	}
	return sp
}

// checkSubPipelines checks the references of each sub-pipeline step's
// params templates, as conditions' are checked.
func (p *parser) checkSubPipelines(s *Spec, nodes []stepNodes) {
	names := make([]string, len(s.Steps))
	for i := range s.Steps {
		names[i] = s.Steps[i].Name
	}
	declared := make([]string, len(s.Params))
	for i, prm := range s.Params {
		declared[i] = prm.Name
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		if st.Pipeline == nil || i >= len(nodes) {
			continue
		}
		if st.Pipeline.Name == s.Name && s.Name != "" {
			p.errorf(nodes[i].step, stepField(s, i)+".pipeline", "%q is this pipeline; a pipeline cannot run itself", s.Name)
		}
		for _, key := range slices.Sorted(maps.Keys(st.Pipeline.Params)) {
			t, err := parseVarTemplate(key, st.Pipeline.Params[key])
			if err == nil {
				err = checkRefs(t, refScope{params: declared, steps: names})
			}
			if err != nil {
				p.errorf(nodes[i].step, fmt.Sprintf("%s.params.%s", stepField(s, i), key), "%v", err)
			}
		}
	}
}

// SubPipelineParams evaluates a sub-pipeline step's params over in.
func (s *Spec) SubPipelineParams(st *Step, in *ConditionInput) (map[string]string, error) {
	out := make(map[string]string, len(st.Pipeline.Params))
	for _, key := range slices.Sorted(maps.Keys(st.Pipeline.Params)) {
		v, err := s.evalText(key, st.Pipeline.Params[key], in, contract.MaxValueBytes)
		if err != nil {
			return nil, fmt.Errorf("params.%s: %w", key, err)
		}
		out[key] = v
	}
	return out, nil
}
