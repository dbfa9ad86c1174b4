package docker

import (
	"os"
	"testing"
)

func TestSameMountNamespace(t *testing.T) {
	t.Parallel()
	if err := sameMountNamespace(os.Getpid()); err != nil {
		t.Errorf("own process: %v, want nil", err)
	}
	if err := sameMountNamespace(0); err == nil {
		t.Error("pid 0 (a process out of sight): nil, want an error")
	}
}

// Only directories baton made are unmounted or removed, whatever a handle
// or a container's mounts name.
func TestOwnsOutputDir(t *testing.T) {
	t.Parallel()
	e := &Executor{outputDir: "/data/outputs2"}
	for dir, want := range map[string]bool{
		"/data/outputs2/baton-r-s-1-0123456789abcdef": true,
		"/data/outputs2/baton-r-s-1/":                 true,
		"/old/outputs/baton-r-s-1":                    true, // an earlier version's
		"/data/outputs2/other":                        false,
		"/data/outputs2":                              false,
		"/data/outputs2/baton-x/sub":                  false,
		"/etc/baton-x":                                false,
		"/":                                           false,
		"relative/outputs/baton-x":                    false,
		"/var/lib/docker/volumes/abc/_data":           false,
	} {
		if got := e.ownsOutputDir(dir); got != want {
			t.Errorf("ownsOutputDir(%q) = %v, want %v", dir, got, want)
		}
	}
}
