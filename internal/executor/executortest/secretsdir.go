package executortest

import (
	"os"
	"path/filepath"
	"testing"
)

// SecretsDir returns a fresh directory on the host's tmpfs (/dev/shm) for an
// executor's secrets option. When the test ends, after the suite's own
// Remove calls, anything left in it fails the test: every attempt's secrets
// must be gone after [executor.Executor.Remove].
func SecretsDir(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("/dev/shm", "baton-test-")
	if err != nil {
		t.Skipf("no tmpfs at /dev/shm for secrets: %v", err)
	}
	dir := filepath.Join(tmp, "secrets")
	t.Cleanup(func() {
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("secrets directories left after Remove: %d", len(left))
		}
		// Directories of the attempt are read-only; RemoveAll needs them
		// writable when not root.
		_ = filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o700)
			}
			return nil
		})
		if err := os.RemoveAll(tmp); err != nil {
			t.Error(err)
		}
	})
	return dir
}
