package pipeline

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/contract"
)

// Templates that would loop, recurse or grow without end are refused when
// the file is parsed, with the var's line and the reason.
func TestParseRefusesUnboundedTemplates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tmpl, want string
	}{
		{"range huge int", `{{ range 1000000000 }}{{ end }}`, "x.yaml:5: vars.v: ranges over 1000000000; the vars of a run may loop at most 100000 times in all"},
		{"range huge int nested", `{{ if true }}{{ range $i := 200000 }}{{ end }}{{ end }}`, "vars.v: ranges over 200000"},
		{"define", `{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}`, "vars.v: defines a template with {{define}} or {{block}}; a var's template may not define or call templates"},
		{"block", `{{ block "a" . }}x{{ end }}`, "vars.v: defines a template"},
		{"template", `{{ template "a" }}`, `vars.v: calls template "a"; a var's template may not define or call templates`},
		{"too long", strings.Repeat("x", maxTemplateBytes+1), "vars.v: is 16385 bytes; a var's template may be at most 16384 (16 KiB)"},
		{"time method", `{{ .Run.Time.AppendFormat "x" }}`, "vars.v: refers to .Run.Time.AppendFormat; .Run.Time has Add, AddDate"},
		{"time field", `{{ .Run.Time.Time.Format "x" }}`, "vars.v: refers to .Run.Time.Time; .Run.Time has"},
		{"invalid", `{{ range }}`, "vars.v: is not a valid template: line 1: missing value for range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := base + "vars:\n  v: " + fmt.Sprintf("%q", tt.tmpl) + "\n"
			_, err := Parse("x.yaml", []byte(in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want %q", err, tt.want)
			}
		})
	}
}

// Templates that pass Parse but would burn time or memory at run start stop
// at a limit, with an error naming the var and the limit.
func TestResolveVarsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params map[string]string
		vars   []string
		kind   error
		want   string
	}{
		{"range over a clock", nil, []string{`{{ range .Run.Time.UnixNano }}{{ end }}`}, nil,
			"var v0: the vars loop more than 100000 times in all; range over fewer values"},
		{"nested ranges", nil, []string{`{{ range 1000 }}{{ range 1000 }}{{ end }}{{ end }}`}, nil,
			"var v0: the vars loop more than 100000 times"},
		{"loops add up across vars", nil, []string{`{{ range 60000 }}{{ end }}ok`, `{{ range 60000 }}{{ end }}`}, nil,
			"var v1: the vars loop more than 100000 times"},
		{"printf width", nil, []string{`{{ printf "%999999d" 1 }}`}, nil,
			"var v0: printf: a width or precision is over 1000, the limit"},
		{"printf precision", nil, []string{`{{ printf "%.5000f" 1.5 }}`}, nil, "var v0: printf: a width or precision is over 1000"},
		{"printf long width", nil, []string{`{{ printf "%0000000000001d" 1 }}`}, nil, "var v0: printf: a width or precision is over 1000"},
		{"printf star", nil, []string{`{{ printf "%*d" 100000000 1 }}`}, nil,
			"var v0: printf: a width or precision from an argument (*) is not allowed"},
		{"printf indexed star", nil, []string{`{{ printf "%[2]*[1]d" 1 100000000 }}`}, nil, "from an argument (*)"},
		{"doubling", nil, []string{`{{ $x := "abcdefgh" }}{{ range 30 }}{{ $x = printf "%s%s" $x $x }}{{ end }}{{ len $x }}`}, nil,
			"var v0: printf is given about 262148 bytes, more than the 262144 a value may hold"},
		{"print doubling", nil, []string{`{{ $x := "abcdefgh" }}{{ range 30 }}{{ $x = print $x $x }}{{ end }}`}, nil,
			"var v0: print is given about 524288 bytes"},
		{"escaper growth", map[string]string{"p": strings.Repeat("<", 40000)}, []string{`{{ len (js (js (js .Params.p))) }}`}, nil,
			"var v0: js makes 280000 bytes, more than the 262144 a value may hold"},
		{"escaper growth 2", map[string]string{"p": strings.Repeat("<", 40000)}, []string{`{{ len (html (html (html .Params.p))) }}`}, nil,
			"var v0: html makes 320000 bytes"},
		{"long layout", map[string]string{"p": strings.Repeat("2006", 100)}, []string{`{{ .Run.Time.Format .Params.p }}`}, nil,
			"var v0: line 1, column 7, at <.Run.Time.Format>: error calling Format: the layout is 400 bytes; the limit is 256"},
		{"long layout after Add", map[string]string{"p": strings.Repeat("2006", 100)}, []string{`{{ (.Run.Time.Add 5).UTC.Format .Params.p }}`}, nil,
			"the layout is 400 bytes; the limit is 256"},
		{"value too large", nil, []string{`{{ range 300 }}{{ printf "%1000s" "" }}{{ end }}`}, contract.ErrTooLarge,
			"var v0: value is over 262144 bytes, the limit (256 KiB)"},
		{"vars too large together", nil, slices.Repeat([]string{`{{ range 250 }}{{ printf "%1000s" "" }}{{ end }}`}, 5), contract.ErrTooLarge,
			"var v4: the vars together make more than 1048576 bytes, the limit (1 MiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Spec{Name: "x"}
			for name := range tt.params {
				s.Params = append(s.Params, Param{Name: name})
			}
			for i, v := range tt.vars {
				s.Vars = append(s.Vars, Var{Name: fmt.Sprintf("v%d", i), Template: v})
			}
			// A clock that stands still: the other limits decide, however
			// slow the machine (or -race) is.
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			_, err := s.resolveVars(tt.params, RunFacts{ID: "r", Time: at}, newBudget(func() time.Time { return at }))
			if err == nil || !strings.Contains(err.Error(), tt.want) || tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Fatalf("ResolveVars error = %v, want %q", err, tt.want)
			}
		})
	}
}

// The time budget stops evaluation however the time is spent. The clock
// here moves 100 ms each time it is read, so the test does not depend on
// how fast the machine is.
func TestResolveVarsDeadline(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time {
		now = now.Add(100 * time.Millisecond)
		return now
	}
	s := &Spec{Name: "x", Vars: []Var{
		{Name: "a", Template: "ok"},
		{Name: "b", Template: `{{ range 90000 }}{{ end }}`},
		{Name: "c", Template: "never"},
	}}
	_, err := s.resolveVars(nil, RunFacts{}, newBudget(clock))
	want := "var b: the vars took more than 1s to evaluate; simplify the templates, or compute the value in a step"
	if err == nil || err.Error() != want {
		t.Fatalf("resolveVars error = %v, want %q", err, want)
	}
	// Each var checks the clock before it starts, even one without loops.
	now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := newBudget(clock)
	now = now.Add(time.Hour)
	if _, err := s.resolveVars(nil, RunFacts{}, b); err == nil || !strings.HasPrefix(err.Error(), "var a: the vars took more than 1s") {
		t.Fatalf("resolveVars with the time spent = %v, want var a refused", err)
	}
}

// Counting loops does not change what templates make: range with else,
// break and continue, nested in if and with; and the .Run.Time methods.
func TestResolveVarsLoopsStillWork(t *testing.T) {
	t.Parallel()
	s := mustParse(t, base+`params:
  a: {default: "1"}
  b: {default: "2"}
  c: {}
vars:
  keys: "{{ range $k, $v := .Params }}{{ if eq $k \"b\" }}{{ continue }}{{ end }}{{ $k }}={{ $v }};{{ end }}"
  first: "{{ range $k, $v := .Params }}{{ $k }}{{ break }}{{ end }}"
  empty: "{{ range len .Params.c }}x{{ else }}none{{ end }}"
  nested: "{{ with .Params }}{{ range $i := 3 }}{{ range $j := 2 }}{{ $i }}{{ $j }} {{ end }}{{ end }}{{ end }}"
  time: "{{ .Run.Time.Format \"2006-01-02\" }} {{ .Run.Time.Unix }} {{ (.Run.Time.AddDate 0 0 1).Day }} {{ .Run.Time.UTC.Hour }} {{ .Run.Time.Month }} {{ .Run.Time.Weekday }}"
  printed: "{{ .Run.Time }}|{{ printf \"%05d|%-4s|%x\" 42 \"ab\" \"hi\" }}|{{ print 1 2 }}|{{ urlquery \"a b\" }}|{{ js \"<\" }}|{{ html \"<\" }}|{{ printf \"%%\" }}"
`)
	params, err := s.ResolveParams(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ResolveVars(params, RunFacts{ID: "r", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"keys":    "a=1;c=;",
		"first":   "a",
		"empty":   "none",
		"nested":  "00 01 10 11 20 21 ",
		"time":    "2026-01-02 1767323045 3 3 January Friday",
		"printed": "2026-01-02 03:04:05 +0000 UTC|00042|ab  |6869|1 2|a+b|\\u003C|&lt;|%",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("var %s = %q, want %q", k, got[k], v)
		}
	}
}

// runTimeMethods, which messages list, are the methods runTime has.
func TestRunTimeMethods(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[runTime]()
	var have []string
	for i := range typ.NumMethod() {
		have = append(have, typ.Method(i).Name)
	}
	if !slices.Equal(have, runTimeMethods) {
		t.Fatalf("runTime has %v, runTimeMethods lists %v", have, runTimeMethods)
	}
}

func FuzzPrintfWidths(f *testing.F) {
	for _, s := range []string{"%d", "%%", "%5.2f", "%[2]*d", "%-1000s", "%1001d", "%.9999999999999999999f", "abc%", "%+#0 8x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, format string) {
		if printfWidths(format) != nil {
			return
		}
		// An accepted format makes little more than its own length from
		// small arguments.
		out := fmt.Sprintf(format, 1, "x", 2.5, 3, "y", 4, 5, 6)
		if len(out) > len(format)*(maxPrintfWidth+64)+1024 {
			t.Fatalf("printf %q made %d bytes", format, len(out))
		}
	})
}

// FuzzResolveVars runs any template that parses: it must end, within its
// limits, with a value or an error naming the var.
func FuzzResolveVars(f *testing.F) {
	for _, s := range []string{
		`{{ .Params.p }}`,
		`{{ range $i := 3 }}{{ $i }}{{ end }}`,
		`{{ range .Run.Time.Unix }}{{ end }}`,
		`{{ printf "%5000d" 1 }}`,
		`{{ $x := "ab" }}{{ range 40 }}{{ $x = print $x $x }}{{ end }}`,
		`{{ js (html (urlquery .Params.p)) }}`,
		`{{ .Run.Time.Format "2006-01-02" }}`,
		`{{ with .Params }}{{ range . }}{{ break }}{{ end }}{{ end }}`,
	} {
		f.Add(s, "v<a&l\"ue")
	}
	f.Fuzz(func(t *testing.T, tmpl, param string) {
		if _, err := parseVarTemplate("v", tmpl); err != nil {
			return
		}
		s := &Spec{Name: "x", Params: []Param{{Name: "p"}}, Vars: []Var{{Name: "v", Template: tmpl}, {Name: "w", Template: tmpl}}}
		vars, err := s.ResolveVars(map[string]string{"p": param}, RunFacts{ID: "r", Time: time.Unix(1700000000, 0)})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "var v: ") && !strings.HasPrefix(err.Error(), "var w: ") {
				t.Fatalf("error %q does not name the var", err)
			}
			return
		}
		if total := len(vars["v"]) + len(vars["w"]); len(vars["v"]) > contract.MaxValueBytes || total > maxVarsBytes {
			t.Fatalf("made values of %d and %d bytes", len(vars["v"]), len(vars["w"]))
		}
	})
}
