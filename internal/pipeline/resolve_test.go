package pipeline

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/contract"
)

func mustParse(t *testing.T, in string) *Spec {
	t.Helper()
	s, err := Parse("test.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestResolveParams(t *testing.T) {
	t.Parallel()
	s := mustParse(t, base+`params:
  target: {required: true}
  zone: {required: true}
  region: {default: westeurope}
  note: {}
`)
	tests := []struct {
		name    string
		given   map[string]string
		want    map[string]string
		wantErr string
	}{
		{"defaults", map[string]string{"target": "t", "zone": "z"}, map[string]string{"target": "t", "zone": "z", "region": "westeurope"}, ""},
		{"override", map[string]string{"target": "t", "zone": "z", "region": "", "note": "n"}, map[string]string{"target": "t", "zone": "z", "region": "", "note": "n"}, ""},
		{"missing", map[string]string{"region": "x"}, nil, "missing required params target and zone"},
		{"missing one", map[string]string{"zone": "x"}, nil, "missing required param target"},
		{"unknown", map[string]string{"target": "t", "zone": "z", "regoin": "x", "b": "y"}, nil, `unknown params "b" and "regoin" (did you mean "region"?); declared params: note, region, target and zone`},
		{"typo", map[string]string{"tagret": "t", "zone": "z"}, nil, `unknown param "tagret"; did you mean "target"? Declared params: note, region, target and zone`},
		{"case", map[string]string{"Zone": "t", "target": "z"}, nil, `unknown param "Zone"; did you mean "zone"? Declared params`},
		{"no suggestion", map[string]string{"target": "t", "zone": "z", "colour": "x"}, nil, `unknown param "colour"; declared params: note, region, target and zone`},
		{"invalid utf-8", map[string]string{"target": "\xff", "zone": "z"}, nil, "param target: value is not valid UTF-8"},
		{"too large", map[string]string{"target": strings.Repeat("x", contract.MaxValueBytes+1), "zone": "z"}, nil, "param target: value is 262145 bytes"},
	}
	for _, tt := range tests {
		got, err := s.ResolveParams(tt.given)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: ResolveParams error = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("%s: ResolveParams = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestResolveVars(t *testing.T) {
	t.Parallel()
	s := mustParse(t, base+`params:
  region: {default: westeurope}
  note: {}
vars:
  container: "report-{{ .Run.ID }}"
  day: '{{ .Run.Time.Format "2006-01-02" }}'
  where: "{{ .Params.region }}"
  title: "{{ .Pipeline.Name }}: {{ .Vars.container }} in {{ $.Vars.where }}"
  note: "{{ if .Params.note }}{{ .Params.note }}{{ else }}none{{ end }}"
  keys: "{{ range $k, $v := .Params }}{{ $k }};{{ end }}"
`)
	params, err := s.ResolveParams(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ResolveVars(params, RunFacts{ID: "r1", Time: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"container": "report-r1",
		"day":       "2024-05-06",
		"where":     "westeurope",
		"title":     "x: report-r1 in westeurope",
		"note":      "none",
		"keys":      "note;region;",
	}
	if !maps.Equal(got, want) {
		t.Errorf("ResolveVars = %q, want %q", got, want)
	}
}

func TestResolveVarsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars []Var
		kind error
		want string
	}{
		{"missing key", []Var{{Name: "a", Template: "{{ .Params.nope }}"}}, nil, `var a: line 1, column 10, at <.Params.nope>: map has no entry for key "nope"`},
		{"bad template", []Var{{Name: "a", Template: "{{"}}, nil, "var a: is not a valid template: line 1: unclosed action"},
		{"too large", []Var{{Name: "a", Template: "x"}, {Name: "b", Template: `{{ range 300 }}{{ printf "%1000s" "x" }}{{ end }}`}}, contract.ErrTooLarge, "var b: value is over 262144 bytes"},
		{"nul", []Var{{Name: "a", Template: `{{ printf "%c" 0 }}`}}, contract.ErrInvalid, "var a: value contains a NUL byte"},
		{"call fails", []Var{{Name: "a", Template: `{{ index .Params "x" 1 }}`}}, nil, `var a: line 1, column 3, at <index .Params "x" 1>: error calling index: index out of range: 1`},
	}
	for _, tt := range tests {
		s := &Spec{Name: "x", Vars: tt.vars}
		_, err := s.ResolveVars(nil, RunFacts{})
		if err == nil || !strings.Contains(err.Error(), tt.want) || tt.kind != nil && !errors.Is(err, tt.kind) {
			t.Errorf("%s: ResolveVars error = %v, want %q", tt.name, err, tt.want)
		}
	}
}
