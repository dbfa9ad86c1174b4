package docker

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/baton-dev/baton/internal/executor"
)

// writeSecrets writes an attempt's secrets, and its token as
// [executor.TokenFile] when it has one, into a fresh directory dirName
// under the secrets root, which must be on a tmpfs so that they never
// reach a disk, and returns it for bind-mounting at [executor.SecretsDir].
// Every attempt gets the directory, with secrets or without.
//
// The root is 0700, so no other user on the host can reach any attempt's
// secrets. The attempt's directory and files are readable by everyone,
// though: with all capabilities dropped even root in the container is held
// to file modes, and the container may run as any user (the image's, the
// step's, or one remapped by the engine). So every user inside the
// container can read the step's secrets; nobody outside it but baton's own
// user can. Their names were checked by [Executor.CheckSpec].
func (e *Executor) writeSecrets(dirName string, secrets map[string][]byte, token string) (string, error) {
	files := maps.Clone(secrets)
	if token != "" {
		if files == nil {
			files = make(map[string][]byte, 1)
		}
		files[executor.TokenFile] = []byte(token)
	}
	if err := e.secretsRoot(); err != nil {
		return "", err
	}
	dir := filepath.Join(e.secretsDir, dirName)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("docker: secrets: %w", err)
	}
	for file, data := range files {
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

// secretsRoot prepares the root secrets are written under.
func (e *Executor) secretsRoot() error {
	if err := executor.PrepareSecretsRoot(e.secretsDir); err != nil {
		return fmt.Errorf("docker: %w", err)
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
