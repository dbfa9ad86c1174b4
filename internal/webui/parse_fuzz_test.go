package webui

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzFormValues: an approval's values as a person typed them never make
// the parser fail other than with an error; what it accepts has a name on
// every value, trimmed and given once, and each value as written.
func FuzzFormValues(f *testing.F) {
	for _, s := range []string{"", "a=1", "a=1\r\nb= 2 \n\n", " a =x=y", "=1", "a=1\na=2", "novalue", "\x00=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		values, err := formValues(text)
		if err != nil {
			return
		}
		for name, value := range values {
			if name == "" || name != strings.TrimSpace(name) {
				t.Fatalf("name %q accepted", name)
			}
			if !strings.Contains(text, "="+value) {
				t.Fatalf("value %q of %q is not as written in %q", value, name, text)
			}
		}
	})
}

// FuzzRunFilter: any query of the runs page gives a filter the store may
// take, or an error; never a panic, never more param filters than allowed,
// never a duplicate silently dropped.
func FuzzRunFilter(f *testing.F) {
	for _, s := range []string{"", "status=failed&range=24h", "param=a%3D1&param=a%3D2", "since=2026-12-01+10:00&until=2026-12-02", "param=%3D", "range=1y"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt := parseRunFilter(q)
		p, err := flt.listParams(now)
		if err != nil {
			return
		}
		if len(p.Params) > maxParamFilters {
			t.Fatalf("%d param filters accepted", len(p.Params))
		}
		if len(p.Params) != len(flt.Params) {
			t.Fatalf("%d param filters given, %d kept", len(flt.Params), len(p.Params))
		}
		if p.Limit != runsPageSize {
			t.Fatalf("limit %d", p.Limit)
		}
	})
}
