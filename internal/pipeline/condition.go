package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// conditionRunFields are what a condition's .Run has besides ID and Time.
var conditionRunFields = []string{"Status", "FailedStep", "Error"}

// condition reads a step's if:, a template checked now as far as it can be:
// it must parse, and its references are checked once every step is known
// (see checkConditions).
func (p *parser) condition(n *yaml.Node, field string) string {
	text, ok := p.str(n, field)
	if !ok {
		return ""
	}
	if strings.TrimSpace(text) == "" {
		p.errorf(n, field, "is empty; write a template that gives true or false, e.g. '{{ eq .Params.env \"prod\" }}', or leave if out")
		return ""
	}
	if _, err := parseVarTemplate(field, text); err != nil {
		p.errorf(n, field, "%v", err)
		return ""
	}
	return text
}

// checkConditions checks what each step's if: refers to: declared params,
// steps of the pipeline, the fields a condition's .Run has.
func (p *parser) checkConditions(s *Spec, nodes []stepNodes) {
	names := make([]string, len(s.Steps))
	for i := range s.Steps {
		names[i] = s.Steps[i].Name
	}
	declared := make([]string, len(s.Params))
	for i, prm := range s.Params {
		declared[i] = prm.Name
	}
	check := func(i int, text string, node *yaml.Node, field string) {
		t, err := parseVarTemplate(s.Steps[i].Name, text)
		if err == nil {
			err = checkRefs(t, refScope{params: declared, steps: names})
		}
		if err != nil {
			p.errorf(node, stepField(s, i)+"."+field, "%v", err)
		}
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		if i >= len(nodes) {
			continue
		}
		if st.If != "" && nodes[i].cond != nil {
			check(i, st.If, nodes[i].cond, "if")
		}
		if st.ForEach != nil && st.ForEach.Items != "" && nodes[i].items != nil {
			check(i, st.ForEach.Items, nodes[i].items, "for_each")
		}
	}
}

// stepField names step i of s as the file does: steps[i] or finally[j].
func stepField(s *Spec, i int) string {
	main := 0
	for _, st := range s.Steps {
		if !st.Finally {
			main++
		}
	}
	if s.Steps[i].Finally {
		return fmt.Sprintf("finally[%d]", i-main)
	}
	return fmt.Sprintf("steps[%d]", i)
}

// ConditionInput is what a step's if: sees when the step is ready.
type ConditionInput struct {
	Params map[string]string
	// Vars are the run's variables at that moment, outputs of the steps
	// that succeeded included.
	Vars map[string]string
	Run  RunFacts
	// Status is where the run stands: running while its steps run; for a
	// finally step, how the other steps ended (succeeded, failed,
	// canceled). FailedStep and Error say which step failed first and why.
	Status, FailedStep, Error string
	// Steps are the statuses of the run's steps, by name.
	Steps map[string]string
}

// conditionData is what a condition template sees as dot.
type conditionData struct {
	Params   map[string]string
	Vars     map[string]string
	Run      conditionRun
	Pipeline struct{ Name string }
	Steps    map[string]conditionStep
}

type conditionRun struct {
	ID                        string
	Time                      runTime
	Status, FailedStep, Error string
}

type conditionStep struct{ Status string }

// ErrCondition wraps every condition that cannot be told true or false.
var ErrCondition = errors.New("condition")

// Condition evaluates st's if: over in, within the bounds var templates
// have. A step without if: runs. The template must give true or false
// (also yes/no, 1/0, on/off, any case, space around ignored; empty is
// false); anything else is an error naming what it gave, cut short.
func (s *Spec) Condition(st *Step, in *ConditionInput) (bool, error) {
	if st.If == "" {
		return true, nil
	}
	text, err := s.evalText(st.Name, st.If, in, maxConditionBytes)
	if err != nil {
		return false, err
	}
	switch v := strings.ToLower(strings.TrimSpace(text)); {
	case slices.Contains([]string{"true", "yes", "1", "on"}, v):
		return true, nil
	case slices.Contains([]string{"false", "no", "0", "off", ""}, v):
		return false, nil
	default:
		return false, fmt.Errorf("%w: gave %d bytes that are neither true nor false (not shown: they may come from a step's outputs); write a template that gives true or false, e.g. {{ eq .Vars.env \"prod\" }}", ErrCondition, len(v))
	}
}

// evalText evaluates a template of a step (its if:, a sub-pipeline's
// params, its for_each) over in, within the bounds var templates have, and
// at most limit bytes of output.
func (s *Spec) evalText(name, text string, in *ConditionInput, limit int) (string, error) {
	t, err := parseVarTemplate(name, text)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCondition, err)
	}
	b := newBudget(time.Now)
	t.Funcs(b.funcs())
	countLoops(t, b.loop)
	data := conditionData{
		Params: make(map[string]string, len(s.Params)+len(in.Params)),
		Vars:   in.Vars,
		Run:    conditionRun{ID: in.Run.ID, Time: runTime{in.Run.Time}, Status: in.Status, FailedStep: in.FailedStep, Error: in.Error},
		Steps:  make(map[string]conditionStep, len(in.Steps)),
	}
	if data.Vars == nil {
		data.Vars = map[string]string{}
	}
	data.Pipeline.Name = s.Name
	for _, p := range s.Params {
		data.Params[p.Name] = ""
	}
	for k, v := range in.Params {
		data.Params[k] = v
	}
	for _, other := range s.Steps {
		data.Steps[other.Name] = conditionStep{Status: in.Steps[other.Name]}
	}
	out := limitedBuilder{b: b, limit: limit}
	if err := t.Execute(&out, data); err != nil {
		switch {
		case errors.Is(err, errValueTooLarge):
			return "", fmt.Errorf("%w: gave more than %d bytes", ErrCondition, limit)
		case b.err != nil:
			return "", fmt.Errorf("%w: %w", ErrCondition, b.err)
		}
		return "", fmt.Errorf("%w: %w", ErrCondition, templateError(err))
	}
	return out.String(), nil
}

// maxConditionBytes bounds what a condition may print.
const maxConditionBytes = 1024
