package process

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultSecretsDir is where attempts' secrets are written when
// [Options.SecretsDir] is empty: a tmpfs on most Linux systems.
const DefaultSecretsDir = "/dev/shm/baton-secrets"

// envSecretsDir tells a step where its secret files are. A process cannot
// be given a private /run/secrets as a container is, so it finds them at a
// host path that only this variable names.
const envSecretsDir = "BATON_SECRETS_DIR"

// Magic numbers of memory-backed file systems, from statfs(2).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// secretsPath is where the attempt with scratch directory dir finds its
// secrets. It follows from the handle, so [Executor.Remove] can find it
// after a restart.
func (e *Executor) secretsPath(dir string) string {
	return filepath.Join(e.secretsDir, filepath.Base(dir))
}

// writeSecrets writes secrets into a new 0700 directory on a tmpfs, so they
// never reach a disk; the files are 0400, for the user baton and the
// command both run as.
func (e *Executor) writeSecrets(dir string, secrets map[string][]byte) error {
	for name := range secrets {
		if name == "" || name == "." || name == ".." || len(name) > 255 ||
			strings.ContainsAny(name, "/\x00") {
			return fmt.Errorf("process: secret name %q is not a plain file name; use letters, digits, dots, dashes and underscores", name)
		}
	}
	if err := e.secretsRoot(); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("process: secrets: %w", err)
	}
	for name, data := range secrets {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o400); err != nil {
			return fmt.Errorf("process: write secret %q: %w", name, err)
		}
	}
	return nil
}

// secretsRoot makes the secrets root, 0700, and checks that it is on a
// tmpfs. Its parent must exist: creating it would put the root on whatever
// file system holds the grandparent.
func (e *Executor) secretsRoot() error {
	root := e.secretsDir
	if _, err := os.Stat(filepath.Dir(root)); err != nil {
		return fmt.Errorf("process: secrets need a tmpfs: %w; mount one there or set the secrets directory to one, such as %s", err, DefaultSecretsDir)
	}
	if err := os.Mkdir(root, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("process: secrets directory: %w", err)
	}
	if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("process: secrets directory %s is not a directory (%v)", root, err)
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return fmt.Errorf("process: secrets directory: %w", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		return fmt.Errorf("process: secrets directory: %w", err)
	}
	if t := uint32(st.Type); t != tmpfsMagic && t != ramfsMagic {
		return fmt.Errorf("process: secrets directory %s is not on a tmpfs (file system type %#x), so secrets could reach a disk; mount a tmpfs there or set the secrets directory to one, such as %s",
			root, t, DefaultSecretsDir)
	}
	return nil
}
