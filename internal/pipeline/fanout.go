package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/baton-dev/baton/internal/contract"
	"gopkg.in/yaml.v3"
)

// MaxItems bounds the items of one fan-out step.
const MaxItems = 1000

// FanOut makes a step run once per item of a list, each instance with its
// own attempts, retries, logs and cleanup.
type FanOut struct {
	// Items is a template, evaluated when the step is ready over what a
	// condition sees, that gives a JSON array of strings.
	Items string
	// MaxParallel bounds the instances running at once; 0: no bound.
	MaxParallel int
	// FailFast starts no more instances once one failed.
	FailFast bool
}

// fanOut reads for_each:, max_parallel: and fail_fast: of a step.
func (p *parser) fanOut(f map[string]*yaml.Node, field string) *FanOut {
	fo := &FanOut{}
	if text, ok := p.str(f["for_each"], field+".for_each"); ok {
		if _, err := parseVarTemplate(field, text); err != nil {
			p.errorf(f["for_each"], field+".for_each", "%v", err)
		} else if text == "" {
			p.errorf(f["for_each"], field+".for_each", `is empty; write a template that gives a JSON array of strings, e.g. '["eu", "us"]' or '{{ .Vars.regions }}'`)
		} else {
			fo.Items = text
		}
	}
	if n, ok := f["max_parallel"]; ok {
		fo.MaxParallel, _ = p.integerOr(n, field+".max_parallel", 1, MaxItems, "leave max_parallel out to run every instance at once")
	}
	if n, ok := f["fail_fast"]; ok {
		fo.FailFast, _ = p.boolean(n, field+".fail_fast")
	}
	if _, ok := f["approval"]; ok {
		p.errorf(p.resolve(f["for_each"]), field+".for_each", "cannot be set on a step with approval: fan out the steps around it instead")
	}
	return fo
}

// Items evaluates a fan-out step's for_each over in: a JSON array of at
// most [MaxItems] distinct strings, each a valid variable value.
func (s *Spec) Items(st *Step, in *ConditionInput) ([]string, error) {
	text, err := s.evalItems(st, in)
	if err != nil {
		return nil, err
	}
	var items []string
	if err := json.Unmarshal([]byte(text), &items); err != nil {
		return nil, fmt.Errorf("for_each: gave %d bytes that are not a JSON array of strings (not shown: they may come from a step's outputs); write a template that gives one, e.g. '[\"eu\", \"us\"]' or '{{ .Vars.regions }}'", len(text))
	}
	if len(items) > MaxItems {
		return nil, fmt.Errorf("for_each: gave %d items; a step fans out to at most %d", len(items), MaxItems)
	}
	seen := make(map[string]int, len(items))
	for i, item := range items {
		if err := contract.ValidValue(item); err != nil {
			return nil, fmt.Errorf("for_each: item %d: %w", i, err)
		}
		if j, dup := seen[item]; dup {
			return nil, fmt.Errorf("for_each: items %d and %d are the same; items must be distinct, they key the instances' outputs", j, i)
		}
		seen[item] = i
	}
	return items, nil
}

// maxItemsBytes bounds what a for_each template may print.
const maxItemsBytes = 1 << 20

func (s *Spec) evalItems(st *Step, in *ConditionInput) (string, error) {
	text, err := s.evalText(st.Name, st.ForEach.Items, in, maxItemsBytes)
	if err != nil {
		return "", fmt.Errorf("for_each: %w", err)
	}
	return text, nil
}
