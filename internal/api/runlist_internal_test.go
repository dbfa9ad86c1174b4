package api

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/baton-dev/baton/internal/store"
)

// FuzzParamFilter: what paramFilter accepts is each NAME=VALUE cut at its
// first '=', within the store's bounds; what it refuses it refuses
// whatever the values say.
func FuzzParamFilter(f *testing.F) {
	f.Add("env=prod", "region=eu", "")
	f.Add("env", "", "")
	f.Add("=v", "a=b=c", "a=")
	f.Add("env=prod", "env=staging", "x=\xff")
	f.Add("k=secret-value", "k=secret-value", "n\x00=v")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var values []string
		for _, v := range []string{a, b, c} {
			if v != "" {
				values = append(values, v)
			}
		}
		got, err := paramFilter(values)
		if err != nil {
			// The answer depends on a value only by its length and
			// whether it is UTF-8: it never quotes one.
			blank := make([]string, len(values))
			for i, v := range values {
				name, value, ok := strings.Cut(v, "=")
				if blank[i] = v; ok && utf8.ValidString(value) {
					blank[i] = name + "=" + strings.Repeat("v", len(value))
				}
			}
			if _, err2 := paramFilter(blank); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("%q: %v, but with other values %v", values, err, err2)
			}
			return
		}
		if err := store.CheckRunList(&store.RunListParams{Params: got}); err != nil {
			t.Fatalf("accepted %q, which the store refuses: %v", values, err)
		}
		if len(got) != len(values) {
			t.Fatalf("%q gave %d params", values, len(got))
		}
		for _, v := range values {
			name, value, ok := strings.Cut(v, "=")
			if !ok || got[name] != value {
				t.Fatalf("%q gave %q", values, got)
			}
		}
	})
}
