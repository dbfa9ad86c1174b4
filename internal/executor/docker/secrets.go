package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultSecretsDir is where attempts' secrets are written on the host when
// [Options.SecretsDir] is empty: a tmpfs on most Linux systems.
const DefaultSecretsDir = "/dev/shm/baton-secrets"

// envSecretsDir names the variable that tells a step where its secrets are.
// The process executor sets the same variable; in a container it is always
// [executor.SecretsDir].
const envSecretsDir = "BATON_SECRETS_DIR"

// Magic numbers of memory-backed file systems, from statfs(2).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// writeSecrets writes an attempt's secrets into a fresh directory under the
// secrets root, which must be on a tmpfs so that they never reach a disk,
// and returns it for bind-mounting at [executor.SecretsDir].
//
// The root is 0700, so no other user on the host can reach any attempt's
// secrets. The attempt's directory and files are readable by everyone,
// though: with all capabilities dropped even root in the container is held
// to file modes, and the container may run as any user (the image's, the
// step's, or one remapped by the engine). So every user inside the
// container can read the step's secrets; nobody outside it but baton's own
// user can.
func (e *Executor) writeSecrets(name string, secrets map[string][]byte) (string, error) {
	if err := checkSecretNames(secrets); err != nil {
		return "", err
	}
	if err := e.secretsRoot(); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(e.secretsDir, name+"-")
	if err != nil {
		return "", fmt.Errorf("docker: secrets: %w", err)
	}
	for file, data := range secrets {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o400); err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("docker: write secret %q: %w", file, err)
		}
		// Modes are set after writing so the umask does not narrow them.
		if err := os.Chmod(filepath.Join(dir, file), 0o444); err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("docker: secret %q: %w", file, err)
		}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("docker: secrets: %w", err)
	}
	return dir, nil
}

// secretsRoot makes the secrets root, 0700, and checks that it is on a
// tmpfs. Its parent must exist: creating it would put the root on whatever
// file system holds the grandparent.
func (e *Executor) secretsRoot() error {
	root := e.secretsDir
	if _, err := os.Stat(filepath.Dir(root)); err != nil {
		return fmt.Errorf("docker: secrets need a tmpfs: %w; mount one there or set the secrets directory to one, such as %s", err, DefaultSecretsDir)
	}
	if err := os.Mkdir(root, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("docker: secrets directory: %w", err)
	}
	fi, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("docker: secrets directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("docker: secrets directory %s is not a directory", root)
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return fmt.Errorf("docker: secrets directory: %w", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		return fmt.Errorf("docker: secrets directory: %w", err)
	}
	if t := uint32(st.Type); t != tmpfsMagic && t != ramfsMagic {
		return fmt.Errorf("docker: secrets directory %s is not on a tmpfs (file system type %#x), so secrets could reach a disk; mount a tmpfs there or set the secrets directory to one, such as %s",
			root, t, DefaultSecretsDir)
	}
	return nil
}

// removeSecrets deletes an attempt's secrets directory, but only one directly
// under the secrets root, whatever a container's mounts say.
func (e *Executor) removeSecrets(dir string) error {
	if dir == "" || filepath.Dir(filepath.Clean(dir)) != filepath.Clean(e.secretsDir) {
		return nil
	}
	// The directory is read-only; RemoveAll cannot empty it otherwise.
	if err := os.Chmod(dir, 0o700); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("docker: remove secrets: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("docker: remove secrets: %w", err)
	}
	return nil
}

// checkSecretNames refuses names that are not plain file names.
func checkSecretNames(secrets map[string][]byte) error {
	for name := range secrets {
		if name == "" || name == "." || name == ".." || len(name) > 255 ||
			strings.ContainsAny(name, "/\x00") {
			return fmt.Errorf("docker: secret name %q is not a plain file name; use letters, digits, dots, dashes and underscores", name)
		}
	}
	return nil
}
