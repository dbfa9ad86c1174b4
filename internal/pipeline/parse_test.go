package pipeline

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/nightly.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("nightly.yaml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	westeurope := "westeurope"
	want := &Spec{
		Name:        "nightly-report",
		Description: "Collects the day's numbers and renders a report.",
		EnvPrefix:   "___",
		Timeout:     3 * time.Hour,
		Concurrency: 1,
		Params: []Param{
			{Name: "target", Required: true, Description: "what to report on"},
			{Name: "region", Default: &westeurope},
		},
		Vars: []Var{
			{Name: "container_name", Template: "report-{{ .Run.ID }}"},
			{Name: "region", Template: "{{ .Params.region }}"},
			{Name: "day", Template: `{{ .Run.Time.Format "2006-01-02" }}`},
			{Name: "title", Template: "{{ .Pipeline.Name }} for {{ .Params.target }} in {{ .Vars.region }}"},
		},
		Schedules: []Schedule{
			{Cron: "0 2 * * *", Params: map[string]string{"target": "all"}, Overlap: "skip", Catchup: "none", Key: "0 2 * * *"},
			{Cron: "@daily", Params: map[string]string{"target": "eu", "region": "northeurope"}, Overlap: "queue", Catchup: "last", Key: "@daily"},
			{Cron: "0 2 * * *", Params: map[string]string{"target": "us"}, Overlap: "allow", Catchup: "all", Key: "0 2 * * *#2"},
		},
		Steps: []Step{{
			Name:      "collect",
			Image:     "registry.example/report:1",
			Command:   []string{"sh", "-c", "collect.sh"},
			Env:       map[string]string{"LOG_LEVEL": "info", "PORT": "8080"},
			Timeout:   2 * time.Hour,
			Retry:     Retry{Limit: 2, Backoff: 10 * time.Second, MaxBackoff: time.Minute, ExitCodes: []int{75, 137}},
			Pull:      "if-missing",
			Secrets:   []SecretRef{{Name: "db_password"}, {Name: "api_key", Env: "API_KEY"}},
			Resources: Resources{MemoryBytes: 512 << 20, PIDs: 256, NanoCPUs: 1_500_000_000},
			User:      "1000:1000",
			ReadOnly:  true,
			CapAdd:    []string{"NET_BIND_SERVICE"},
		}, {
			Name:    "render",
			Image:   "registry.example/report:1",
			Command: []string{"render.sh", "--format", "pdf"},
			Pull:    "always",
			Needs:   []string{"collect"},
		}, {
			Name:    "publish",
			Command: []string{"publish.sh"},
			Pull:    "if-missing",
			Needs:   []string{"collect", "render"},
			Retry:   Retry{Limit: 5, Backoff: time.Minute, MaxBackoff: 10 * time.Minute},
		}, {
			Name:    "notify",
			Command: []string{"notify.sh"},
			Pull:    "if-missing",
			Needs:   []string{},
		}},
	}
	for i := range got.Schedules {
		if got.Schedules[i].sched == nil {
			t.Errorf("schedules[%d] was not parsed for Next", i)
		}
		got.Schedules[i].sched = nil // compared through Next in TestScheduleNext
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	s, err := Parse("min.yaml", []byte("name: min\nsteps:\n  - {name: a, command: [a]}\n  - {name: b, command: [b]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.EnvPrefix != DefaultEnvPrefix || s.Steps[0].Pull != "if-missing" || s.Steps[0].Needs != nil ||
		!reflect.DeepEqual(s.Steps[1].Needs, []string{"a"}) {
		t.Errorf("Parse = %+v, want default env_prefix, pull and needs", s)
	}
	if s.Timeout != 0 || s.Concurrency != 0 || !reflect.DeepEqual(s.Steps[0].Retry, Retry{}) {
		t.Errorf("Parse = %+v, want no timeout, no concurrency limit and no retry", s)
	}
}

func TestParseScheduleDefaults(t *testing.T) {
	t.Parallel()
	s, err := Parse("x.yaml", []byte(base+"schedules:\n  - cron: '@hourly'\n  - cron: '@hourly'\n  - cron: '0 * * * *'\n  - cron: '@hourly'\n"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, sch := range s.Schedules {
		if sch.Overlap != "skip" || sch.Catchup != "none" {
			t.Errorf("schedule %q: overlap %q, catchup %q; want skip and none", sch.Cron, sch.Overlap, sch.Catchup)
		}
		keys = append(keys, sch.Key)
	}
	if want := []string{"@hourly", "@hourly#2", "0 * * * *", "@hourly#3"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %q, want %q", keys, want)
	}
}

func TestParseRetryDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		retry string
		want  Retry
	}{
		{"{limit: 3}", Retry{Limit: 3}},
		{"{limit: 3, backoff: 10s}", Retry{Limit: 3, Backoff: 10 * time.Second, MaxBackoff: 100 * time.Second}},
		{"{limit: 3, backoff: 6m}", Retry{Limit: 3, Backoff: 6 * time.Minute, MaxBackoff: time.Hour}},
		{"{limit: 3, backoff: 10m}", Retry{Limit: 3, Backoff: 10 * time.Minute, MaxBackoff: time.Hour}},
		{"{limit: 3, backoff: 2h}", Retry{Limit: 3, Backoff: 2 * time.Hour, MaxBackoff: 2 * time.Hour}},
		{"{backoff: 10s, max_backoff: 10s}", Retry{Backoff: 10 * time.Second, MaxBackoff: 10 * time.Second}},
		{"{backoff: 10s, max_backoff: 24h}", Retry{Backoff: 10 * time.Second, MaxBackoff: 24 * time.Hour}},
		{"{exit_codes: []}", Retry{ExitCodes: []int{}}},
		{"{exit_codes: [255, 1]}", Retry{ExitCodes: []int{255, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.retry, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("x.yaml", []byte("name: x\nsteps:\n  - name: a\n    command: [a]\n    retry: "+tt.retry+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Steps[0].Retry; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("retry = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseAliases(t *testing.T) {
	t.Parallel()
	in := `name: x
steps:
  - name: a
    command: &cmd [run.sh, --fast]
    env: &env {A: "1"}
  - {name: b, command: *cmd, env: *env}
`
	s, err := Parse("x.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Steps[1].Command, []string{"run.sh", "--fast"}) || s.Steps[1].Env["A"] != "1" {
		t.Errorf("step b = %+v, want the aliased command and env", s.Steps[1])
	}
}

// base is a valid pipeline that error cases extend; its steps list is last
// so that cases can append steps.
const base = "name: x\nsteps:\n  - {name: a, command: [a]}\n"

func TestParseErrors(t *testing.T) {
	t.Parallel()
	var manyVars strings.Builder
	manyVars.WriteString("vars:\n")
	for i := range 1001 {
		manyVars.WriteString("  v" + strings.Repeat("_", i%100) + strings.Repeat("x", i/100) + ": a\n")
	}
	var bomb strings.Builder
	bomb.WriteString("name: x\nsteps:\n  - &s {name: a, command: &c [")
	bomb.WriteString(strings.Repeat("x, ", 2000) + "x]}\n")
	bomb.WriteString("  - " + strings.Repeat("*s\n  - ", 2000) + "*s\n")
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "x.yaml: the file is empty; a pipeline needs at least name: and steps:"},
		{"only comments", "# nothing\n", "x.yaml: the file is empty"},
		{"null", "~\n", "x.yaml: the file is empty"},
		{"too large", "#" + strings.Repeat("x", MaxFileBytes), "x.yaml: the file is 1048577 bytes; the limit is 1048576 (1 MiB)"},
		{"bad yaml", "name: x\nsteps: [\n", "x.yaml:2: not valid YAML: did not find expected node content"},
		{"tab", "name: x\n\tsteps: []\n", "x.yaml:2: not valid YAML: found a tab character"},
		{"two documents", base + "---\nname: y\n", "x.yaml:4: a second YAML document starts here"},
		{"not a mapping", "- a\n", "x.yaml:1: the file is a list; a pipeline is a mapping"},
		{"unknown top field", base + "step: []\n", `x.yaml:4: unknown field "step"; did you mean "steps"? Allowed: concurrency, description, env_prefix, executor, finally, name, notify, params, schedules, steps, timeout, triggers and vars`},
		{"unknown field no suggestion", base + "zzzzzz: 1\n", `x.yaml:4: unknown field "zzzzzz"; allowed: concurrency, description`},
		{"duplicate key", base + "name: y\n", `x.yaml:4: name: is given twice, here and at line 1; keep one`},
		{"merge key", "a: &a {name: x}\n<<: *a\nsteps: []\n", "x.yaml:2: merge keys (<<) are not supported"},
		{"non-scalar key", "? [a]\n: b\n" + base, "x.yaml:1: a key is a list; keys must be plain words"},
		{"missing name", "steps:\n  - {name: a, command: [a]}\n", "x.yaml:1: missing name; add e.g. name: nightly-report"},
		{"bad name", "name: Nightly Report\nsteps: []\n", `x.yaml:1: name: "Nightly Report" is not a valid name; use lowercase letters, digits, - and _`},
		{"name starts with dash", "name: -x\n" + base[8:], `x.yaml:1: name: "-x" is not a valid name`},
		{"long name", "name: " + strings.Repeat("a", 64) + "\n" + base[8:], "characters long; use lowercase letters"},
		{"name is list", "name: [a]\n" + base[8:], "x.yaml:1: name: is a list; write a string"},
		{"name is null", "name:\n" + base[8:], "x.yaml:1: name: is empty; write a string"},
		{"env_prefix digit", base + "env_prefix: 1X\n", `x.yaml:4: env_prefix: "1X" is not a valid start of an environment variable name`},
		{"env_prefix empty", base + "env_prefix: ''\n", "x.yaml:4: env_prefix: is empty; leave env_prefix out for the default BATON_VAR_"},
		{"env_prefix baton", base + "env_prefix: BATON_\n", `x.yaml:4: env_prefix: "BATON_" could make a variable's name clash with baton's own BATON_ variables`},
		{"env_prefix bat", base + "env_prefix: BAT\n", `env_prefix: "BAT" could make a variable's name clash`},
		{"missing steps", "name: x\n", "x.yaml:1: missing steps; add a list of steps"},
		{"steps empty", "name: x\nsteps: []\n", "x.yaml:2: steps: is empty; a pipeline needs at least one step"},
		{"steps mapping", "name: x\nsteps: {a: 1}\n", "x.yaml:2: steps: is a mapping; write a list of steps"},
		{"step string", "name: x\nsteps: [a]\n", `x.yaml:2: steps[0]: is the string "a"; write a mapping, with the fields approval, cap_add, command, env`},
		{"step missing name", base + "  - {command: [b]}\n", "x.yaml:4: steps[1]: missing name; add e.g. name: build"},
		{"step bad name", base + "  - {name: B, command: [b]}\n", `x.yaml:4: steps[1].name: "B" is not a valid name`},
		{"step duplicate name", base + "  - {name: b, command: [b]}\n  - {name: a, command: [b]}\n", `x.yaml:5: steps[2].name: "a" is also the name of steps[0]; step names must be unique`},
		{"step unknown field", base + "  - name: b\n    comand: [b]\n", `x.yaml:5: steps[1]: unknown field "comand"; did you mean "command"?`},
		{"step unknown field case", base + "  - {name: b, Command: [b]}\n", `x.yaml:4: steps[1]: unknown field "Command"; did you mean "command"?`},
		{"command missing", base + "  - name: b\n", "x.yaml:4: steps[1]: missing command; add e.g. command:"},
		{"command string", base + "  - name: b\n    command: run.sh --fast\n", `x.yaml:5: steps[1].command: is the string "run.sh --fast"; write a list, e.g. ["sh", "-c", "./run.sh"]`},
		{"command empty", base + "  - {name: b, command: []}\n", "x.yaml:4: steps[1].command: is empty; write the program and its arguments"},
		{"command empty program", base + "  - {name: b, command: ['', x]}\n", "x.yaml:4: steps[1].command[0]: is empty; write the program to run"},
		{"command item mapping", base + "  - name: b\n    command:\n      - {a: b}\n", "x.yaml:6: steps[1].command[0]: is a mapping; write a string"},
		{"image list", base + "  - {name: b, command: [b], image: [x]}\n", "x.yaml:4: steps[1].image: is a list; write a string"},
		{"env not mapping", base + "  - {name: b, command: [b], env: [A]}\n", "x.yaml:4: steps[1].env: is a list; write a mapping, e.g. env: {LOG_LEVEL: info}"},
		{"env bad key", base + "  - name: b\n    command: [b]\n    env:\n      A-B: x\n", `x.yaml:7: steps[1].env.A-B: is not a valid environment variable name: variable name "A-B" contains '-'`},
		{"env baton key", base + "  - {name: b, command: [b], env: {BATON_TOKEN: x}}\n", "x.yaml:4: steps[1].env.BATON_TOKEN: names starting with BATON_ are baton's own"},
		{"env value list", base + "  - {name: b, command: [b], env: {A: [x]}}\n", "x.yaml:4: steps[1].env.A: is a list; write a string"},
		{"command nul", base + "  - {name: b, command: [sh, \"-c\", \"printf '\\033[0m'\"]}\n", "x.yaml:4: steps[1].command[2]: contains a NUL byte"},
		{"image nul", base + "  - {name: b, image: \"a\\0b\", command: [b]}\n", "x.yaml:4: steps[1].image: contains a NUL byte"},
		{"env value nul", base + "  - {name: b, command: [b], env: {A: \"\\0\"}}\n", "x.yaml:4: steps[1].env.A: value contains a NUL byte"},
		{"timeout words", base + "  - name: b\n    command: [b]\n    timeout: 2 hours\n", `x.yaml:6: steps[1].timeout: "2 hours" is not a duration; write e.g. 90s, 10m or 2h`},
		{"timeout number", base + "  - {name: b, command: [b], timeout: 90}\n", `x.yaml:4: steps[1].timeout: "90" is not a duration`},
		{"timeout zero", base + "  - {name: b, command: [b], timeout: 0s}\n", "x.yaml:4: steps[1].timeout: is 0s; write a duration above zero, or leave timeout out for none"},
		{"timeout negative", base + "  - {name: b, command: [b], timeout: -1m}\n", "steps[1].timeout: is -1m0s; write a duration above zero"},
		{"timeout list", base + "  - {name: b, command: [b], timeout: [1s]}\n", "steps[1].timeout: is a list; write e.g. 90s"},
		{"retry not mapping", base + "  - {name: b, command: [b], retry: 3}\n", "x.yaml:4: steps[1].retry: is the number 3; write a mapping, with the fields backoff, exit_codes, limit and max_backoff"},
		{"retry unknown", base + "  - {name: b, command: [b], retry: {limt: 3}}\n", `x.yaml:4: steps[1].retry: unknown field "limt"; did you mean "limit"?`},
		{"retry limit high", base + "  - {name: b, command: [b], retry: {limit: 101}}\n", "x.yaml:4: steps[1].retry.limit: is 101; write a whole number from 0 to 100"},
		{"retry limit negative", base + "  - {name: b, command: [b], retry: {limit: -1}}\n", "steps[1].retry.limit: is -1; write a whole number from 0 to 100"},
		{"retry limit string", base + "  - {name: b, command: [b], retry: {limit: three}}\n", `steps[1].retry.limit: is the string "three"; write a whole number`},
		{"retry limit float", base + "  - {name: b, command: [b], retry: {limit: 1.5}}\n", "steps[1].retry.limit: is the number 1.5; write a whole number"},
		{"retry limit huge", base + "  - {name: b, command: [b], retry: {limit: 99999999999999999999}}\n", "steps[1].retry.limit: is the number 99999999999999999999; write a whole number"},
		{"retry backoff negative", base + "  - {name: b, command: [b], retry: {backoff: -1s}}\n", "x.yaml:4: steps[1].retry.backoff: is -1s; write zero or more"},
		{"pull", base + "  - {name: b, command: [b], pull: sometimes}\n", `x.yaml:4: steps[1].pull: "sometimes" is not a pull policy; write always, if-missing or never`},
		{"needs string", base + "  - {name: b, command: [b], needs: a}\n", `x.yaml:4: steps[1].needs: is the string "a"; write a list, e.g. [build]`},
		{"needs unknown", base + "  - {name: build, command: [b]}\n  - {name: c, command: [c], needs: [biuld]}\n", `x.yaml:5: steps[2].needs: no step is named "biuld"; did you mean "build"? steps: a, build and c`},
		{"needs self", base + "  - {name: b, command: [b], needs: [b]}\n", `x.yaml:4: steps[1].needs: b needs itself; remove "b"`},
		{"needs twice", base + "  - {name: b, command: [b], needs: [a, a]}\n", `x.yaml:4: steps[1].needs: "a" is listed twice`},
		{"cycle", "name: x\nsteps:\n  - {name: a, command: [a], needs: [c]}\n  - {name: b, command: [b], needs: [a]}\n  - {name: c, command: [c], needs: [b]}\n",
			"x.yaml:3: steps[0].needs: steps wait for each other in a cycle: a needs c, c needs b, b needs a; remove one"},
		{"implicit cycle", base + "  - {name: b, command: [b], needs: [c]}\n  - {name: c, command: [c]}\n",
			"x.yaml:4: steps[1].needs: steps wait for each other in a cycle: b needs c, c waits for b (it has no needs:, so it waits for the step listed before it)"},
		{"params not mapping", base + "params: [a]\n", "x.yaml:4: params: is a list; write a mapping, e.g. params: {target: {required: true}}"},
		{"param bad name", base + "params: {a-b: {}}\n", `x.yaml:4: params.a-b: is not a valid param name: variable name "a-b" contains '-'`},
		{"param unknown field", base + "params:\n  a: {requried: true}\n", `x.yaml:5: params.a: unknown field "requried"; did you mean "required"?`},
		{"param required yes", base + "params: {a: {required: yes}}\n", `x.yaml:4: params.a.required: is the string "yes"; write true or false`},
		{"param required and default", base + "params:\n  a:\n    required: true\n    default: x\n", "x.yaml:7: params.a: is required and has a default"},
		{"param default list", base + "params: {a: {default: [x]}}\n", "x.yaml:4: params.a.default: is a list; write a string"},
		{"param string", base + "params: {a: x}\n", `x.yaml:4: params.a: is the string "x"; write a mapping`},
		{"vars not mapping", base + "vars: [a]\n", "x.yaml:4: vars: is a list; write a mapping"},
		{"var bad name", base + "vars: {1a: x}\n", `x.yaml:4: vars.1a: is not a valid var name: variable name "1a" starts with a digit`},
		{"var list", base + "vars:\n  a: [x]\n", "x.yaml:5: vars.a: is a list; write a string"},
		{"var bad template", base + "vars:\n  a: '{{ .Run.ID'\n", "x.yaml:5: vars.a: is not a valid template: line 1: unclosed action"},
		{"var unknown func", base + "vars:\n  a: '{{ upper .Run.ID }}'\n", `x.yaml:5: vars.a: is not a valid template: line 1: function "upper" not defined`},
		{"var undeclared param", base + "params: {region: {}}\nvars:\n  a: '{{ .Params.regoin }}'\n", "x.yaml:6: vars.a: refers to .Params.regoin, but no such param is declared; did you mean .Params.region? Declared params: region"},
		{"var later var", base + "vars:\n  a: '{{ .Vars.b }}'\n  b: x\n", "x.yaml:5: vars.a: refers to .Vars.b, which is not listed before it"},
		{"var itself", base + "vars:\n  a: '{{ .Vars.a }}'\n", "vars.a: refers to .Vars.a, which is not listed before it"},
		{"var missing var", base + "vars:\n  a: '{{ if true }}{{ $.Vars.zz }}{{ end }}'\n", "x.yaml:5: vars.a: refers to .Vars.zz, but there is no such var"},
		{"var typo var", base + "vars:\n  container: x\n  b: '{{ .Vars.contaner }}'\n", "x.yaml:6: vars.b: refers to .Vars.contaner, but there is no such var; did you mean .Vars.container? Vars above it: container"},
		{"var unknown root", base + "vars:\n  a: '{{ .Param.x }}'\n", "x.yaml:5: vars.a: refers to .Param.x; a var can use .Params.<name>"},
		{"var run field", base + "vars:\n  a: '{{ .Run.Id }}'\n", "vars.a: refers to .Run.Id; .Run has ID and Time"},
		{"var pipeline field", base + "vars:\n  a: '{{ .Pipeline.ID }}'\n", "vars.a: refers to .Pipeline.ID; .Pipeline has Name"},
		{"too many vars", base + manyVars.String(), "x.yaml:5: vars: has 1001 vars; the limit is 1000"},
		{"schedules not list", base + "schedules: {cron: x}\n", `x.yaml:4: schedules: is a mapping; write a list, e.g. [{cron: "0 2 * * *"}]`},
		{"schedule missing cron", base + "schedules:\n  - params: {}\n", `x.yaml:5: schedules[0]: missing cron; add e.g. cron: "0 2 * * *"`},
		{"schedule bad cron", base + "schedules:\n  - cron: 61 * * * *\n", `x.yaml:5: schedules[0].cron: "61 * * * *" is not a cron schedule: end of range (61) above maximum (59): 61; write five fields`},
		{"schedule six fields", base + "schedules: [{cron: '0 0 2 * * *'}]\n", `schedules[0].cron: "0 0 2 * * *" is not a cron schedule: expected exactly 5 fields`},
		{"schedule tz only", base + "schedules: [{cron: TZ=UTC}]\n", `schedules[0].cron: "TZ=UTC" is not a cron schedule: a time zone needs a schedule after it`},
		{"schedule unknown field", base + "schedules: [{corn: '@daily'}]\n", `x.yaml:4: schedules[0]: unknown field "corn"; did you mean "cron"?`},
		{"schedule unknown param", base + "params: {target: {}}\nschedules:\n  - cron: '@daily'\n    params: {targte: all}\n", `x.yaml:7: schedules[0].params: unknown param "targte"; did you mean "target"? Declared params: target`},
		{"schedule missing param", base + "params: {b: {required: true}, a: {required: true}, c: {default: x}}\nschedules:\n  - cron: '@daily'\n", `x.yaml:6: schedules[0].params: missing required params a and b`},
		{"schedule params list", base + "schedules: [{cron: '@daily', params: [a]}]\n", "x.yaml:4: schedules[0].params: is a list; write a mapping, e.g. params: {target: all}"},
		{"pipeline timeout words", base + "timeout: 3 hours\n", `x.yaml:4: timeout: "3 hours" is not a duration; write e.g. 90s, 10m or 2h`},
		{"pipeline timeout zero", base + "timeout: 0s\n", "x.yaml:4: timeout: is 0s; write a duration above zero, or leave timeout out for none"},
		{"pipeline timeout negative", base + "timeout: -1h\n", "x.yaml:4: timeout: is -1h0m0s; write a duration above zero"},
		{"pipeline timeout null", base + "timeout:\n", "x.yaml:4: timeout: is empty; write e.g. 90s"},
		{"concurrency zero", base + "concurrency: 0\n", "x.yaml:4: concurrency: is 0; write a whole number from 1 to 10000, or leave concurrency out for no limit"},
		{"concurrency high", base + "concurrency: 10001\n", "x.yaml:4: concurrency: is 10001; write a whole number from 1 to 10000, or leave concurrency out"},
		{"concurrency negative", base + "concurrency: -1\n", "x.yaml:4: concurrency: is -1; write a whole number from 1 to 10000"},
		{"concurrency string", base + "concurrency: unlimited\n", `x.yaml:4: concurrency: is the string "unlimited"; write a whole number from 1 to 10000, or leave concurrency out for no limit`},
		{"concurrency float", base + "concurrency: 2.5\n", "x.yaml:4: concurrency: is the number 2.5; write a whole number"},
		{"retry max_backoff below backoff", base + "  - {name: b, command: [b], retry: {backoff: 1m, max_backoff: 30s}}\n", "x.yaml:4: steps[1].retry.max_backoff: is 30s, below backoff (1m0s); write 1m0s or more, or leave max_backoff out for 10m0s"},
		{"retry max_backoff negative", base + "  - {name: b, command: [b], retry: {max_backoff: -1s}}\n", "x.yaml:4: steps[1].retry.max_backoff: is -1s, below backoff (0s); write 0s or more"},
		{"retry max_backoff words", base + "  - {name: b, command: [b], retry: {max_backoff: 1 hour}}\n", `x.yaml:4: steps[1].retry.max_backoff: "1 hour" is not a duration; write e.g. 90s, 10m or 2h`},
		{"retry max_backoff typo", base + "  - {name: b, command: [b], retry: {maxbackoff: 1h}}\n", `x.yaml:4: steps[1].retry: unknown field "maxbackoff"; did you mean "max_backoff"?`},
		{"retry exit_codes number", base + "  - {name: b, command: [b], retry: {exit_codes: 1}}\n", "x.yaml:4: steps[1].retry.exit_codes: is the number 1; write a list of exit codes from 1 to 255, e.g. [75, 137], or leave exit_codes out to retry after any"},
		{"retry exit_codes zero", base + "  - {name: b, command: [b], retry: {exit_codes: [1, 0]}}\n", "x.yaml:4: steps[1].retry.exit_codes[1]: is 0; write a whole number from 1 to 255"},
		{"retry exit_codes high", base + "  - {name: b, command: [b], retry: {exit_codes: [256]}}\n", "x.yaml:4: steps[1].retry.exit_codes[0]: is 256; write a whole number from 1 to 255"},
		{"retry exit_codes string", base + "  - {name: b, command: [b], retry: {exit_codes: [SIGKILL]}}\n", `x.yaml:4: steps[1].retry.exit_codes[0]: is the string "SIGKILL"; write a whole number from 1 to 255`},
		{"retry exit_codes twice", base + "  - name: b\n    command: [b]\n    retry:\n      exit_codes:\n        - 75\n        - 137\n        - 75\n", "x.yaml:10: steps[1].retry.exit_codes[2]: 75 is listed twice; list it once"},
		{"schedule overlap typo", base + "schedules:\n  - cron: '@daily'\n    overlap: skpi\n", `x.yaml:6: schedules[0].overlap: "skpi" is not an overlap policy; did you mean "skip"? Write skip, queue or allow`},
		{"schedule overlap unknown", base + "schedules: [{cron: '@daily', overlap: replace}]\n", `x.yaml:4: schedules[0].overlap: "replace" is not an overlap policy; write skip, queue or allow`},
		{"schedule overlap list", base + "schedules: [{cron: '@daily', overlap: [skip]}]\n", "x.yaml:4: schedules[0].overlap: is a list; write a string"},
		{"schedule catchup typo", base + "schedules:\n  - cron: '@daily'\n    catchup: lats\n", `x.yaml:6: schedules[0].catchup: "lats" is not a catchup policy; did you mean "last"? Write none, last or all`},
		{"schedule catchup bool", base + "schedules: [{cron: '@daily', catchup: true}]\n", `x.yaml:4: schedules[0].catchup: "true" is not a catchup policy; write none, last or all`},
		{"schedule catchup unknown field", base + "schedules: [{cron: '@daily', catch_up: all}]\n", `x.yaml:4: schedules[0]: unknown field "catch_up"; did you mean "catchup"? Allowed: catchup, cron, overlap and params`},
		{"alias bomb", bomb.String(), "x.yaml: too many values once aliases (*name) are expanded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("x.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", s, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error:\n%s\nwant it to contain\n%s", err, tt.want)
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.File != "x.yaml" {
				t.Errorf("Parse error %v is not an *Error for x.yaml", err)
			}
		})
	}
}

func TestParseEnvPrefixKey(t *testing.T) {
	t.Parallel()
	in := "name: x\nenv_prefix: ___\nsteps:\n  - {name: a, command: [a], env: {___X: x}}\n"
	_, err := Parse("x.yaml", []byte(in))
	want := `x.yaml:4: steps[0].env.___X: starts with "___", the env_prefix of run variables; define it under vars instead`
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %s", err, want)
	}
}

func TestParseManyErrors(t *testing.T) {
	t.Parallel()
	in := "name: x\nsteps:\n" + strings.Repeat("  - {name: a, command: b}\n", 30)
	_, err := Parse("x.yaml", []byte(in))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[len(lines)-1] != "x.yaml: and 39 more problems" {
		t.Errorf("Parse error has %d lines, ending %q; want %d ending with the count of the rest", len(lines), lines[len(lines)-1], maxErrors+1)
	}
	if !strings.HasPrefix(lines[0], "x.yaml:3: steps[0].command:") {
		t.Errorf("first error = %q, want the one on line 3", lines[0])
	}
}
