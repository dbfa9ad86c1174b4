package pipeline

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFlowParses: the example with if: and finally: parses; finally steps
// come last, marked, after every other step in the graph, and wait only
// for the finally steps they need.
func TestFlowParses(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/flow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("flow.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range s.Steps {
		names = append(names, st.Name)
	}
	if got := strings.Join(names, ","); got != "build,deploy-prod,announce,remove-infra,page" {
		t.Fatalf("steps: %s", got)
	}
	if s.Steps[2].Finally || !s.Steps[3].Finally || !s.Steps[4].Finally {
		t.Errorf("finally marks: %v %v %v", s.Steps[2].Finally, s.Steps[3].Finally, s.Steps[4].Finally)
	}
	if len(s.Steps[3].Needs) != 0 || len(s.Steps[4].Needs) != 0 {
		t.Errorf("finally needs: %q, %q; want none (the first waits for no finally step, page says needs: [])", s.Steps[3].Needs, s.Steps[4].Needs)
	}
	for _, main := range []string{"build", "deploy-prod", "announce"} {
		if !s.Ordered(main, "page") || !s.Ordered(main, "remove-infra") {
			t.Errorf("%s is not ordered before the finally steps", main)
		}
	}
	if got := s.Order(); got[len(got)-1] != "page" && got[len(got)-1] != "remove-infra" {
		t.Errorf("order puts %s last", got[len(got)-1])
	}
}

func TestFlowParseErrors(t *testing.T) {
	t.Parallel()
	const main = "name: x\nsteps:\n  - {name: a, command: [a]}\n"
	tests := []struct{ name, in, want string }{
		{"if empty", "name: x\nsteps:\n  - {name: a, command: [a], if: ''}\n", "x.yaml:3: steps[0].if: is empty; write a template that gives true or false"},
		{"if bad template", "name: x\nsteps:\n  - {name: a, command: [a], if: '{{ eq .Params.env '}\n", "steps[0].if: is not a valid template"},
		{"if unknown param", "name: x\nparams: {env: {}}\nsteps:\n  - {name: a, command: [a], if: '{{ eq .Params.evn \"p\" }}'}\n", "steps[0].if: refers to .Params.evn, but no such param is declared; declared params: env"},
		{"if unknown step", main + "  - {name: b, command: [b], if: '{{ eq .Steps.c.Status \"failed\" }}'}\n", "steps[1].if: refers to .Steps.c, but there is no such step"},
		{"if step field", main + "  - {name: b, command: [b], if: '{{ .Steps.a.Outputs }}'}\n", "steps[1].if: refers to .Steps.a.Outputs; a step has Status"},
		{"if run field", main + "  - {name: b, command: [b], if: '{{ .Run.State }}'}\n", "steps[1].if: refers to .Run.State; .Run has ID, Time, Error, FailedStep and Status"},
		{"if top field", main + "  - {name: b, command: [b], if: '{{ .Secrets.x }}'}\n", "refers to .Secrets.x; a condition can use"},
		{"finally empty", main + "finally: []\n", "x.yaml:4: finally: is empty; list the steps to run once the others have ended"},
		{"finally name taken", main + "finally:\n  - {name: a, command: [a]}\n", `x.yaml:5: finally[0].name: "a" is also the name of steps[0]; step names must be unique`},
		{"finally needs main", main + "finally:\n  - {name: f, command: [f], needs: [a]}\n", `finally[0].needs: no finally step is named "a"; finally steps: f (a finally step waits for every step of steps: anyway)`},
		{"finally if unknown step", main + "finally:\n  - {name: f, command: [f], if: '{{ eq .Steps.z.Status \"x\" }}'}\n", "finally[0].if: refers to .Steps.z"},
		{"var cannot use Steps", "name: x\nvars: {v: '{{ .Steps.a.Status }}'}\nsteps:\n  - {name: a, command: [a]}\n", "refers to .Steps.a; a var can use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("x.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error:\n%v\nwant it to contain\n%s", err, tt.want)
			}
		})
	}
}

// TestCondition: what a condition gives decides, in the words it may use,
// and anything else is an error naming what it gave.
func TestCondition(t *testing.T) {
	t.Parallel()
	s := &Spec{Name: "p", Params: []Param{{Name: "env"}}, Steps: []Step{{Name: "a"}, {Name: "b"}}}
	in := &ConditionInput{
		Params: map[string]string{"env": "prod"}, Vars: map[string]string{"n": "3"},
		Run: RunFacts{ID: "r1", Time: time.Unix(0, 0)}, Status: "failed", FailedStep: "a", Error: "exit 3",
		Steps: map[string]string{"a": "failed"},
	}
	tests := []struct {
		cond string
		want bool
		err  string
	}{
		{`{{ eq .Params.env "prod" }}`, true, ""},
		{`{{ eq .Vars.n "4" }}`, false, ""},
		{` Yes `, true, ""},
		{`off`, false, ""},
		{`{{ "" }}`, false, ""},
		{`{{ and (eq .Run.Status "failed") (eq .Run.FailedStep "a") }}`, true, ""},
		{`{{ eq .Steps.b.Status "" }}`, true, ""},
		{`{{ .Run.Error }}`, false, `gave 6 bytes that are neither true nor false (not shown`},
		{`{{ .Vars.missing }}`, false, `map has no entry for key "missing"`},
		{`{{ range 100000000 }}x{{ end }}`, false, "loop at most"},
		{`{{ range 2000 }}x{{ end }}`, false, "gave more than 1024 bytes"},
	}
	for _, tt := range tests {
		st := &Step{Name: "b", If: tt.cond}
		got, err := s.Condition(st, in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("Condition(%q) = %v, %v; want %v", tt.cond, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrCondition)):
			t.Errorf("Condition(%q) error %v, want one containing %q", tt.cond, err, tt.err)
		}
	}
	if ok, err := s.Condition(&Step{Name: "a"}, in); !ok || err != nil {
		t.Errorf("a step without if: %v, %v", ok, err)
	}
}

// FuzzCondition: any if: text either fails to parse, or evaluates to true,
// false or an ErrCondition, within bounds, without panicking.
func FuzzCondition(f *testing.F) {
	for _, seed := range []string{`{{ eq .Params.env "prod" }}`, `{{ .Vars.x }}`, `true`, `{{ range 10 }}x{{ end }}`, `{{ index .Steps "a" }}`, `{{ .Run.Time.Format "2006" }}`} {
		f.Add(seed)
	}
	s := &Spec{Name: "p", Params: []Param{{Name: "env"}}, Steps: []Step{{Name: "a"}}}
	in := &ConditionInput{Vars: map[string]string{"x": "yes"}, Steps: map[string]string{"a": "succeeded"}}
	f.Fuzz(func(t *testing.T, cond string) {
		if cond == "" {
			return
		}
		_, err := s.Condition(&Step{Name: "a", If: cond}, in)
		if err != nil && !errors.Is(err, ErrCondition) {
			t.Fatalf("Condition(%q): error %v is not an ErrCondition", cond, err)
		}
	})
}

func TestSubPipelineParse(t *testing.T) {
	t.Parallel()
	s, err := Parse("x.yaml", []byte(`name: x
vars: {v: "1"}
steps:
  - name: call
    pipeline: deploy
    params: {region: eu, version: '{{ .Vars.v }}'}
    outputs: [url, id]
    retry: {limit: 1}
    timeout: 1h
`))
	if err != nil {
		t.Fatal(err)
	}
	sp := s.Steps[0].Pipeline
	if sp == nil || sp.Name != "deploy" || sp.Params["version"] != "{{ .Vars.v }}" || strings.Join(sp.Outputs, ",") != "url,id" {
		t.Fatalf("sub-pipeline: %+v", sp)
	}
	got, err := s.SubPipelineParams(&s.Steps[0], &ConditionInput{Vars: map[string]string{"v": "7"}})
	if err != nil || got["version"] != "7" || got["region"] != "eu" {
		t.Fatalf("SubPipelineParams: %q, %v", got, err)
	}
	const head = "name: x\nsteps:\n"
	for _, tc := range []struct{ name, in, want string }{
		{"with command", head + "  - {name: c, pipeline: d, command: [x]}\n", "steps[0].command: cannot be set on a step that runs a pipeline"},
		{"with image", head + "  - {name: c, pipeline: d, image: alpine}\n", "steps[0].image: cannot be set on a step that runs a pipeline"},
		{"bad name", head + "  - {name: c, pipeline: 'a b'}\n", `steps[0].pipeline: "a b"`},
		{"itself", head + "  - {name: c, pipeline: x}\n", `"x" is this pipeline; a pipeline cannot run itself`},
		{"params without pipeline", head + "  - {name: c, command: [x], params: {a: b}}\n", "steps[0].params: is for a step that runs a pipeline"},
		{"outputs twice", head + "  - {name: c, pipeline: d, outputs: [a, a]}\n", `"a" is listed twice`},
		{"bad output name", head + "  - {name: c, pipeline: d, outputs: ['a-b']}\n", `"a-b" is not a variable name`},
		{"param template", head + "  - {name: c, pipeline: d, params: {a: '{{ .Params.nope }}'}}\n", "steps[0].params.a: refers to .Params.nope"},
	} {
		if _, err := Parse("x.yaml", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFanOutParse(t *testing.T) {
	t.Parallel()
	s, err := Parse("x.yaml", []byte("name: x\nsteps:\n  - {name: each, for_each: '[\"a\"]', max_parallel: 3, fail_fast: true, command: [x]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fo := s.Steps[0].ForEach; fo == nil || fo.Items != `["a"]` || fo.MaxParallel != 3 || !fo.FailFast {
		t.Fatalf("fan-out: %+v", fo)
	}
	items, err := s.Items(&s.Steps[0], &ConditionInput{})
	if err != nil || len(items) != 1 || items[0] != "a" {
		t.Fatalf("Items: %q, %v", items, err)
	}
	const head = "name: x\nsteps:\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", head + "  - {name: e, for_each: '', command: [x]}\n", "steps[0].for_each: is empty; write a template that gives a JSON array of strings"},
		{"bad template", head + "  - {name: e, for_each: '{{ .Vars.x ', command: [x]}\n", "steps[0].for_each: is not a valid template"},
		{"unknown param", head + "  - {name: e, for_each: '{{ .Params.p }}', command: [x]}\n", "steps[0].for_each: refers to .Params.p"},
		{"max_parallel zero", head + "  - {name: e, for_each: '[]', max_parallel: 0, command: [x]}\n", "steps[0].max_parallel"},
		{"max_parallel alone", head + "  - {name: e, max_parallel: 2, command: [x]}\n", "steps[0].max_parallel: is for a step that fans out"},
		{"fail_fast alone", head + "  - {name: e, fail_fast: true, command: [x]}\n", "steps[0].fail_fast: is for a step that fans out"},
		{"with approval", head + "  - {name: e, for_each: '[]', approval: {message: m}}\n", "steps[0].for_each: cannot be set on a step with approval"},
	} {
		if _, err := Parse("x.yaml", []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
