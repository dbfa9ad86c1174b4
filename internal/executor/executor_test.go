package executor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/executor"
)

func TestSlug(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec executor.Spec
		max  int
		want string
	}{
		{executor.Spec{RunID: "20261123t040701-3f9a1c2b", Step: "collect", Attempt: 2}, 100, "20261123t040701-3f9a1c2b-collect-2"},
		{executor.Spec{RunID: "r", Step: "a b/c:d", Attempt: 1}, 100, "r-a-b-c-d-1"},
		{executor.Spec{RunID: "r", Step: strings.Repeat("x", 50), Attempt: 1}, 10, "r-xxxxxxxx"},
	}
	for _, c := range cases {
		if got := c.spec.Slug(c.max); got != c.want {
			t.Errorf("Slug(%d) of %+v = %q, want %q", c.max, c.spec, got, c.want)
		}
	}
}

// shmDir is a fresh directory on the host's tmpfs.
func shmDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "baton-test-")
	if err != nil {
		t.Skipf("no tmpfs at /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestPrepareSecretsRoot(t *testing.T) {
	t.Parallel()
	root := filepath.Join(shmDir(t), "secrets")
	if err := executor.PrepareSecretsRoot(root); err != nil {
		t.Fatal(err)
	}
	// Again, as every attempt does.
	if err := executor.PrepareSecretsRoot(root); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(root); err != nil || fi.Mode() != os.ModeDir|0o700 {
		t.Errorf("root = %v, %v; want a 0700 directory", fi.Mode(), err)
	}
}

func TestPrepareSecretsRootNarrowsOwnMode(t *testing.T) {
	t.Parallel()
	root := filepath.Join(shmDir(t), "secrets")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := executor.PrepareSecretsRoot(root); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(root); fi.Mode().Perm() != 0o700 {
		t.Errorf("mode = %v, want 0700", fi.Mode().Perm())
	}
}

// TestPrepareSecretsRootSquatted makes the root before baton does, as
// another local user could: by another uid, and as a symbolic link to a
// directory that user can read. Both are refused, with what to do, and
// nothing of theirs is changed.
func TestPrepareSecretsRootSquatted(t *testing.T) {
	t.Parallel()
	t.Run("other owner", func(t *testing.T) {
		t.Parallel()
		if os.Geteuid() != 0 {
			t.Skip("making a directory owned by another uid needs root")
		}
		root := filepath.Join(shmDir(t), "secrets")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(root, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		err := executor.PrepareSecretsRoot(root)
		if err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") || !strings.Contains(err.Error(), "remove it") {
			t.Errorf("err = %v, want a refusal naming the owner and the fix", err)
		}
		fi, serr := os.Lstat(root)
		if serr != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("squatted root after refusal: %v, %v; want its mode untouched (0755)", fi.Mode(), serr)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		t.Parallel()
		dir := shmDir(t)
		target := filepath.Join(dir, "theirs")
		if err := os.Mkdir(target, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(target, 0o777); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(dir, "secrets")
		if err := os.Symlink(target, root); err != nil {
			t.Fatal(err)
		}
		err := executor.PrepareSecretsRoot(root)
		if err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), "remove it") {
			t.Errorf("err = %v, want a refusal saying it is a link and what to do", err)
		}
		if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o777 {
			t.Errorf("link target mode = %v, want it untouched", fi.Mode().Perm())
		}
	})
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		root := filepath.Join(shmDir(t), "secrets")
		if err := os.WriteFile(root, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := executor.PrepareSecretsRoot(root); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("err = %v, want it to say the root is not a directory", err)
		}
	})
}

func TestCheckSecretNames(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"db_password": true, "tls.key": true, "a-b": true,
		"": false, ".": false, "..": false, ".baton-token": false, ".hidden": false, "a/b": false, "a\x00": false,
	} {
		err := executor.CheckSecretNames(map[string][]byte{name: nil})
		if (err == nil) != ok {
			t.Errorf("CheckSecretNames(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
