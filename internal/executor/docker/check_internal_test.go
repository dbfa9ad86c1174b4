package docker

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/imagepolicy"
)

// FuzzCheckImageRef: whatever image a pipeline names, the check decides
// without panicking; what it refuses is ErrImageNotFound, quoting at most
// a bounded part of the reference; what it lets through is an image ID or
// a reference the engine parses, spelled by [engineRef] as a full name
// that spells itself the same.
func FuzzCheckImageRef(f *testing.F) {
	hex := strings.Repeat("ab12", 16)
	for _, seed := range []string{
		"busybox", "busybox:1.36", "docker.io/library/busybox:latest", "Busybox", "busybox:Latest",
		"busy box", "", ":", "@", "x@sha256:xyz", "registry.example:5000/team/app:v1@sha256:" + hex,
		hex, hex[:12], "sha256:" + hex, "sha256:", "localhost/x", "a//b", "a/b/c/d:tag",
		strings.Repeat("a", 300), "x:" + strings.Repeat("t", 200), "x\x00y", "é",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		err := CheckImageRef(ref)
		if err != nil {
			if !errors.Is(err, executor.ErrImageNotFound) {
				t.Errorf("CheckImageRef(%q) = %v, want it to wrap ErrImageNotFound", ref, err)
			}
			if len(ref) > 200 && strings.Contains(err.Error(), ref) {
				t.Errorf("CheckImageRef quotes a %d-byte reference whole", len(ref))
			}
			return
		}
		if imagepolicy.IsImageID(ref) {
			return
		}
		full := engineRef(ref)
		named, perr := reference.ParseNormalizedNamed(full)
		if perr != nil {
			t.Fatalf("CheckImageRef accepted %q, but the engine cannot parse %q: %v", ref, full, perr)
		}
		if named.String() != full || engineRef(full) != full {
			t.Errorf("CheckImageRef accepted %q, spelled %q, which parses as %q", ref, full, named.String())
		}
		if _, err := reference.ParseAnyReference(full); err != nil {
			t.Errorf("CheckImageRef accepted %q, but the engine's parser refuses %q: %v", ref, full, err)
		}
	})
}
