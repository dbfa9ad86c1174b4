package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/baton-dev/baton/internal/contract"
)

// ResolveParams checks the params a trigger passes against the declared ones
// and applies defaults. The result holds the given params and the defaults
// of those not given; a declared param with neither is left out.
func (s *Spec) ResolveParams(given map[string]string) (map[string]string, error) {
	declared := make(map[string]bool, len(s.Params))
	names := make([]string, 0, len(s.Params))
	for _, p := range s.Params {
		declared[p.Name] = true
		names = append(names, p.Name)
	}
	var unknown []string
	for name := range given {
		if !declared[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown %s %s; declared params: %s", plural(len(unknown), "param"), quoteList(unknown), list(names))
	}
	out := make(map[string]string, len(s.Params))
	var missing []string
	for _, p := range s.Params {
		v, ok := given[p.Name]
		switch {
		case ok:
			if err := contract.ValidValue(v); err != nil {
				return nil, fmt.Errorf("param %s: %w", p.Name, err)
			}
			out[p.Name] = v
		case p.Default != nil:
			out[p.Name] = *p.Default
		case p.Required:
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing required %s %s", plural(len(missing), "param"), list(missing))
	}
	return out, nil
}

// RunFacts are the facts about a run that var templates may use, as .Run.ID
// and .Run.Time.
type RunFacts struct {
	ID   string
	Time time.Time
}

// templateData is what a var template sees as dot.
type templateData struct {
	Params   map[string]string
	Vars     map[string]string
	Run      RunFacts
	Pipeline struct{ Name string }
}

// ResolveVars evaluates the pipeline's vars, in listed order, into the run's
// variables. Templates see .Params (params as [Spec.ResolveParams] returns
// them, plus "" for a declared param that has no value, so that
// {{ if .Params.x }} works), .Vars (the vars listed before), .Run and
// .Pipeline.Name. Params do not become variables by themselves; only vars do.
func (s *Spec) ResolveVars(params map[string]string, run RunFacts) (map[string]string, error) {
	data := templateData{
		Params: make(map[string]string, len(s.Params)+len(params)),
		Vars:   make(map[string]string, len(s.Vars)),
		Run:    run,
	}
	data.Pipeline.Name = s.Name
	for _, p := range s.Params {
		data.Params[p.Name] = ""
	}
	for name, v := range params {
		data.Params[name] = v
	}
	for _, v := range s.Vars {
		t, err := template.New(v.Name).Option("missingkey=error").Parse(v.Template)
		if err != nil {
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		var out limitedBuilder
		if err := t.Execute(&out, data); err != nil {
			if errors.Is(err, errValueTooLarge) {
				return nil, fmt.Errorf("var %s: value is over %d bytes, the limit (256 KiB): %w", v.Name, contract.MaxValueBytes, contract.ErrTooLarge)
			}
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		value := out.String()
		if err := contract.ValidValue(value); err != nil {
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		data.Vars[v.Name] = value
	}
	return data.Vars, nil
}

var errValueTooLarge = errors.New("value too large")

// limitedBuilder stops a template once its output passes the value limit,
// so that a runaway {{range}} cannot use unbounded memory.
type limitedBuilder struct{ strings.Builder }

func (b *limitedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > contract.MaxValueBytes {
		return 0, errValueTooLarge
	}
	return b.Builder.Write(p)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// quoteList formats names that came from outside, sorted and quoted.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range slices.Sorted(slices.Values(names)) {
		if len(n) > 64 {
			n = n[:64] + "..."
		}
		q[i] = fmt.Sprintf("%q", n)
	}
	return list(q)
}
