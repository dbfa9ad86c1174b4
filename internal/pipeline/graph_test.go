package pipeline

import (
	"slices"
	"testing"
)

func TestGraph(t *testing.T) {
	t.Parallel()
	// a ─┬─ b ── d
	//    └─ c ──┘   e (needs: []), f (after e)
	s := mustParse(t, `name: x
steps:
  - {name: a, command: [a]}
  - {name: d, command: [d], needs: [b, c]}
  - {name: c, command: [c], needs: [a]}
  - {name: b, command: [b], needs: [a]}
  - {name: e, command: [e], needs: []}
  - {name: f, command: [f]}
`)
	if got, want := s.Order(), []string{"a", "c", "b", "d", "e", "f"}; !slices.Equal(got, want) {
		t.Errorf("Order = %v, want %v", got, want)
	}
	ancestors := map[string][]string{
		"a": nil, "b": {"a"}, "c": {"a"}, "d": {"a", "c", "b"}, "e": nil, "f": {"e"}, "zz": nil,
	}
	for step, want := range ancestors {
		if got := s.Ancestors(step); !slices.Equal(got, want) {
			t.Errorf("Ancestors(%s) = %v, want %v", step, got, want)
		}
	}
	ordered := []struct {
		a, b string
		want bool
	}{
		{"a", "d", true}, {"d", "a", true}, {"b", "c", false}, {"c", "b", false},
		{"a", "e", false}, {"e", "f", true}, {"a", "a", false}, {"a", "zz", false},
	}
	for _, tt := range ordered {
		if got := s.Ordered(tt.a, tt.b); got != tt.want {
			t.Errorf("Ordered(%s, %s) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestGraphBuiltInCode(t *testing.T) {
	t.Parallel()
	// Not from Parse: no implicit needs, an unknown name and a cycle.
	s := &Spec{Steps: []Step{
		{Name: "a", Needs: []string{"b"}},
		{Name: "b", Needs: []string{"a", "ghost"}},
		{Name: "c"},
		{Name: "d", Needs: []string{"c", "c"}},
	}}
	if got, want := s.Order(), []string{"c", "d", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("Order = %v, want %v", got, want)
	}
	if got, want := s.Ancestors("a"), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("Ancestors(a) = %v, want %v", got, want)
	}
	if !s.Ordered("a", "b") || s.Ordered("a", "c") {
		t.Error("Ordered: want a and b ordered, a and c not")
	}
}
