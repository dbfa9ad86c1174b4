package postgres_test

import (
	"net/url"
	"testing"

	"github.com/baton-dev/baton/internal/store/postgres"
)

// FuzzDescribe: whatever the configured URL holds, its description names
// no password and no parameters (which may carry one), and it reads as a
// URL again.
func FuzzDescribe(f *testing.F) {
	for _, s := range []string{
		"postgres://baton:pw@db.example:5432/baton?sslmode=verify-full",
		"postgresql://baton@db/baton?password=pw&search_path=ci",
		"postgres://:pw@/db", "postgres://u:p@[::1]:5432/db#frag", "postgres:///db?host=/run/pg",
		"sqlite", "", "host=db password=pw", "postgres://u:p%40ss@h/d", "postgres://h/d%2Fx",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d := postgres.Describe(raw)
		if d == "the PostgreSQL URL" {
			return
		}
		u, err := url.Parse(d)
		if err != nil {
			t.Fatalf("Describe(%q) = %q, which is not a URL: %v", raw, d, err)
		}
		if _, has := u.User.Password(); has {
			t.Fatalf("Describe(%q) = %q shows a password", raw, d)
		}
		if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			t.Fatalf("Describe(%q) = %q shows parameters", raw, d)
		}
	})
}
