package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultSecretsDir is where executors write attempts' secrets on the host
// unless told otherwise: a tmpfs on most Linux systems.
const DefaultSecretsDir = "/dev/shm/baton-secrets"

// EnvSecretsDir names the variable that tells a step where its secret files
// are: [SecretsDir] in a container, a host path for a process.
const EnvSecretsDir = "BATON_SECRETS_DIR"

// Magic numbers of memory-backed file systems, from statfs(2).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// CheckSecretNames refuses secret names that are not plain file names.
func CheckSecretNames(secrets map[string][]byte) error {
	for name := range secrets {
		if name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
			return fmt.Errorf("secret name %q is not a plain file name; use letters, digits, dots, dashes and underscores", name)
		}
	}
	return nil
}

// PrepareSecretsRoot makes the directory secrets are written under, 0700,
// and checks that it is on a tmpfs, so secrets never reach a disk. Its
// parent must exist: creating it would put the root on whatever file system
// holds the grandparent.
func PrepareSecretsRoot(root string) error {
	if _, err := os.Stat(filepath.Dir(root)); err != nil {
		return fmt.Errorf("secrets need a tmpfs: %w; mount one there or set the secrets directory to one, such as %s", err, DefaultSecretsDir)
	}
	if err := os.Mkdir(root, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("secrets directory: %w", err)
	}
	if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("secrets directory %s is not a directory (%v)", root, err)
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return fmt.Errorf("secrets directory: %w", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		return fmt.Errorf("secrets directory: %w", err)
	}
	if t := uint32(st.Type); t != tmpfsMagic && t != ramfsMagic {
		return fmt.Errorf("secrets directory %s is not on a tmpfs (file system type %#x), so secrets could reach a disk; mount a tmpfs there or set the secrets directory to one, such as %s",
			root, t, DefaultSecretsDir)
	}
	return nil
}
