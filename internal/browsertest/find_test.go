package browsertest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFindChromium(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "chromium")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	empty := t.TempDir() // a PATH with no chromium

	tests := []struct {
		name     string
		override string
		system   string
		path     string
		want     string
		wantErr  error // nil: no error; errAny: some error other than errNoChromium
	}{
		{name: "override wins", override: exe, system: exe, path: empty, want: exe},
		{name: "override not executable", override: plain, system: exe, path: empty, wantErr: errAny},
		{name: "override missing", override: missing, system: exe, path: empty, wantErr: errAny},
		{name: "system", system: exe, path: empty, want: exe},
		{name: "system not executable, on PATH", system: plain, path: dir, want: exe},
		{name: "PATH", system: missing, path: dir, want: exe},
		{name: "none", system: missing, path: empty, wantErr: errNoChromium},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			getenv := func(k string) string {
				if k == "BATON_TEST_CHROMIUM" {
					return tt.override
				}
				return ""
			}
			got, err := findChromium(getenv, tt.system)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error: %v", err)
			case tt.wantErr == errAny && (err == nil || errors.Is(err, errNoChromium)):
				t.Fatalf("got %q, %v; want an error about the override", got, err)
			case tt.wantErr == errNoChromium && !errors.Is(err, errNoChromium):
				t.Fatalf("got %q, %v; want errNoChromium", got, err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")
