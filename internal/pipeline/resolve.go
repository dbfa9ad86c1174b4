package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/suggest"
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
		return nil, unknownParams(unknown, names)
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

// ResolveVars evaluates the pipeline's vars, in listed order, into the run's
// variables. Templates see .Params (params as [Spec.ResolveParams] returns
// them, plus "" for a declared param that has no value, so that
// {{ if .Params.x }} works), .Vars (the vars listed before), .Run and
// .Pipeline.Name. Params do not become variables by themselves; only vars do.
//
// Evaluation is bounded: all the vars together may take about a second,
// loop 100,000 times and make 1 MiB, and each value at most 256 KiB (see
// docs/spec.md). An error names the var and the limit it hit.
func (s *Spec) ResolveVars(params map[string]string, run RunFacts) (map[string]string, error) {
	return s.resolveVars(params, run, newBudget(time.Now))
}

func (s *Spec) resolveVars(params map[string]string, run RunFacts, b *budget) (map[string]string, error) {
	data := templateData{
		Params: make(map[string]string, len(s.Params)+len(params)),
		Vars:   make(map[string]string, len(s.Vars)),
		Run:    runData{ID: run.ID, Time: runTime{run.Time}},
	}
	data.Pipeline.Name = s.Name
	for _, p := range s.Params {
		data.Params[p.Name] = ""
	}
	for name, v := range params {
		data.Params[name] = v
	}
	funcs := b.funcs()
	total := 0
	for _, v := range s.Vars {
		if err := b.check(); err != nil {
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		t, err := parseVarTemplate(v.Name, v.Template)
		if err != nil {
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		t.Funcs(funcs)
		countLoops(t, b.loop)
		out := limitedBuilder{b: b, limit: min(contract.MaxValueBytes, maxVarsBytes-total)}
		if err := t.Execute(&out, data); err != nil {
			switch {
			case errors.Is(err, errValueTooLarge) && out.limit < contract.MaxValueBytes:
				return nil, fmt.Errorf("var %s: the vars together make more than %d bytes, the limit (1 MiB): %w", v.Name, maxVarsBytes, contract.ErrTooLarge)
			case errors.Is(err, errValueTooLarge):
				return nil, fmt.Errorf("var %s: value is over %d bytes, the limit (256 KiB): %w", v.Name, contract.MaxValueBytes, contract.ErrTooLarge)
			case b.err != nil:
				// A limit stopped it: say which, without text/template's
				// wrapping around the call that noticed.
				return nil, fmt.Errorf("var %s: %w", v.Name, b.err)
			}
			return nil, fmt.Errorf("var %s: %w", v.Name, templateError(err))
		}
		value := out.String()
		if err := contract.ValidValue(value); err != nil {
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		total += len(value)
		data.Vars[v.Name] = value
	}
	return data.Vars, nil
}

var errValueTooLarge = errors.New("value too large")

// limitedBuilder stops a template once its output passes limit, so that a
// runaway {{range}} cannot use unbounded memory, and once the budget is
// spent.
type limitedBuilder struct {
	strings.Builder
	b     *budget
	limit int
}

func (w *limitedBuilder) Write(p []byte) (int, error) {
	if err := w.b.check(); err != nil {
		return 0, err
	}
	if w.Len()+len(p) > w.limit {
		return 0, errValueTooLarge
	}
	return w.Builder.Write(p)
}

// unknownParams says which given params are not declared, suggesting the
// declared one each is likely a typo of, as unknown YAML fields are.
func unknownParams(unknown, declared []string) error {
	unknown = slices.Sorted(slices.Values(unknown))
	if len(unknown) == 1 {
		if s := suggest.Closest(unknown[0], declared); s != "" {
			return fmt.Errorf("unknown param %s; did you mean %q? Declared params: %s", quoteList(unknown), s, list(declared))
		}
	}
	named := make([]string, len(unknown))
	for i, u := range unknown {
		named[i] = quoteList([]string{u})
		if s := suggest.Closest(u, declared); s != "" && len(unknown) > 1 {
			named[i] += fmt.Sprintf(" (did you mean %q?)", s)
		}
	}
	return fmt.Errorf("unknown %s %s; declared params: %s", plural(len(unknown), "param"), joinWords(named), list(declared))
}

// joinWords joins words, already in order, as "a, b and c".
func joinWords(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
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
