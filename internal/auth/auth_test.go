package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer baton_x", "baton_x", true},
		{"bearer baton_x", "baton_x", true},
		{"BEARER baton_x", "baton_x", true},
		{"BeArEr baton_x", "baton_x", true},
		{"Bearer   baton_x", "baton_x", true},
		{"Bearer\tbaton_x", "baton_x", true},
		{"Bearer baton_x  ", "baton_x", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer  \t ", "", false},
		{"Bearerbaton_x", "", false},
		{"Basic YWRtaW46YWRtaW4=", "", false},
		{"Bearer a b", "", false},
		{"Bearers baton_x", "", false},
		{" Bearer baton_x", "", false},
		{"", "", false},
	} {
		got, ok := auth.BearerToken(c.header)
		if got != c.want || ok != c.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", c.header, got, ok, c.want, c.ok)
		}
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, seed := range []string{"Bearer baton_x", "bearer x", "BEARER\tx", "Bearer", "Basic x", "Bearer a b", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, ok := auth.BearerToken(header)
		if !ok {
			if token != "" {
				t.Fatalf("BearerToken(%q) = %q with ok false", header, token)
			}
			return
		}
		if token == "" || strings.ContainsAny(token, " \t") || !strings.Contains(header, token) {
			t.Fatalf("BearerToken(%q) = %q", header, token)
		}
		// The scheme in any case gives the same token.
		for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
			if again, ok := auth.BearerToken(scheme + " " + token); !ok || again != token {
				t.Fatalf("BearerToken(%q) = %q, %v; want %q", scheme+" "+token, again, ok, token)
			}
		}
	})
}

// TestCheckSchemeCaseInsensitive checks a real token against a real store
// with the scheme written every way RFC 7235 allows.
func TestCheckSchemeCaseInsensitive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tok, _, err := auth.Create(ctx, st, "ci", auth.Viewer, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(st)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		row, err := a.Check(ctx, scheme+" "+tok)
		if err != nil || row.Name != "ci" {
			t.Errorf("Check with scheme %q: %v, %v", scheme, row, err)
		}
	}
	if _, err := a.Check(ctx, "Basic "+tok); !errors.Is(err, auth.ErrNoToken) {
		t.Errorf("Check with scheme Basic: %v, want ErrNoToken", err)
	}
	if _, err := a.Check(ctx, "bearer "+tok+"x"); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("Check with a wrong token: %v, want ErrBadToken", err)
	}
}
