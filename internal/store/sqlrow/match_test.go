package sqlrow_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// matches reports whether the stored text of m matches the filter
// name=value, the way the stores test it.
func matches(t testing.TB, m map[string]string, name, value string) bool {
	t.Helper()
	enc, err := sqlrow.EncodeMap(m)
	if err != nil {
		t.Fatal(err)
	}
	first, later, err := sqlrow.ParamMatch(name, value)
	if err != nil {
		t.Fatal(err)
	}
	return enc != nil && (strings.Contains(*enc, first) || strings.Contains(*enc, later))
}

func TestParamMatch(t *testing.T) {
	m := map[string]string{
		"a":       "b",
		"env":     "prod",
		"nul":     "x\x00y",
		"quote":   `say "hi"`,
		"nested":  `{"a":"b"}`,
		`x"a`:     "b",
		"slash":   `b\`,
		"html":    "<&>",
		"empty":   "",
		"unicode": "é\u2028",
	}
	for _, tc := range []struct {
		name, value string
		want        bool
	}{
		{"a", "b", true},
		{"env", "prod", true},
		{"env", "pro", false},
		{"env", "prod2", false},
		{"env", "PROD", false},
		{"nv", "prod", false},
		{"nul", "x\x00y", true},
		{"nul", "x", false},
		{"quote", `say "hi"`, true},
		{"quote", "say ", false},
		{"nested", `{"a":"b"}`, true},
		{"x", "b", false},
		{`x"a`, "b", true},
		{"slash", `b\`, true},
		{"slash", "b", false},
		{"html", "<&>", true},
		{"empty", "", true},
		{"unicode", "é\u2028", true},
		{"missing", "", false},
	} {
		if got := matches(t, m, tc.name, tc.value); got != tc.want {
			t.Errorf("%q=%q: matched %v, want %v", tc.name, tc.value, got, tc.want)
		}
	}
	if matches(t, nil, "a", "") {
		t.Error("an empty map matched a=")
	}
}

// FuzzParamMatch: a map's stored text matches name=value exactly when the
// map holds name with that value, whatever the text of the map's other
// names and values, for UTF-8 text.
func FuzzParamMatch(f *testing.F) {
	f.Add("a", "b", "c", "d", "a", "b")
	f.Add(`x"a`, "b", "a", "c", "a", "b")
	f.Add("a", `b","a":"c`, "z", "", "a", "c")
	f.Add("a", `\`, "b", `\"`, "b", `"`)
	f.Add("k", "v\x00", "", "", "", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, name, value string) {
		for _, s := range []string{k1, v1, k2, v2, name, value} {
			if !utf8.ValidString(s) {
				t.Skip()
			}
		}
		m := map[string]string{k1: v1, k2: v2}
		got, ok := m[name]
		want := ok && got == value
		if matches(t, m, name, value) != want {
			t.Fatalf("map %q, filter %q=%q: matched %v, want %v", m, name, value, !want, want)
		}
	})
}
