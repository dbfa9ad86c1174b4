package stepwrap

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Install copies the running program to dst, executable by everyone and
// writable by nobody. It is how the wrapper gets into a step's container:
// an init container that runs baton copies baton into a volume the step's
// container shares, so the helper image needs nothing but baton itself (no
// shell, no cp). The copy is made beside dst and renamed into place, so a
// half-written binary is never run.
func Install(dst string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("install: find baton's own binary: %w", err)
	}
	src, err := os.Open(self)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+"-")
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return fmt.Errorf("install: copy %s to %s: %w", self, dst, err)
	}
	if err := tmp.Chmod(0o555); err != nil {
		tmp.Close()
		return fmt.Errorf("install: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	return nil
}
