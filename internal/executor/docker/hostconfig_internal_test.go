package docker

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCapAdd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want []string
		ok   bool
	}{
		{nil, nil, true},
		{[]string{"NET_BIND_SERVICE"}, []string{"NET_BIND_SERVICE"}, true},
		{[]string{"CAP_NET_ADMIN", "chown"}, []string{"NET_ADMIN", "CHOWN"}, true},
		{[]string{"ALL"}, nil, false},
		{[]string{"CAP_ALL"}, nil, false},
		{[]string{"NET_BIND_SERVICE", "NOT_A_CAP"}, nil, false},
		{[]string{""}, nil, false},
	} {
		got, err := capAdd(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("capAdd(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestCheckBindSource(t *testing.T) {
	t.Parallel()
	e, err := New(Options{Host: "unix:///var/run/docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := t.TempDir()
	if err := e.checkBindSource(dir); err != nil {
		t.Errorf("checkBindSource(%s) = %v, want nil", dir, err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("/var/run", link); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"/", "/var/run", "/run", "/var/run/docker.sock", link} {
		if _, err := os.Stat(src); err != nil {
			continue // no engine on this machine
		}
		if err := e.checkBindSource(src); err == nil {
			t.Errorf("checkBindSource(%s) = nil, want a refusal", src)
		}
	}
}
