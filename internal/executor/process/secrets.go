package process

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/baton-dev/baton/internal/executor"
)

// secretsPath is where the attempt with scratch directory dir finds its
// secrets. It follows from the handle, so [Executor.Remove] can find it
// after a restart.
func (e *Executor) secretsPath(dir string) string {
	return filepath.Join(e.secretsDir, filepath.Base(dir))
}

// writeSecrets writes secrets, and the attempt's token when it has one, into
// a new 0700 directory on a tmpfs, so they never reach a disk; the files are
// 0400, for the user baton and the command both run as. Their names were
// checked by [Executor.CheckSpec].
func (e *Executor) writeSecrets(dir string, secrets map[string][]byte, token string) error {
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
	if token != "" {
		if err := os.WriteFile(filepath.Join(dir, executor.TokenFile), []byte(token), 0o400); err != nil {
			return fmt.Errorf("process: write token: %w", err)
		}
	}
	return nil
}

// secretsRoot prepares the root secrets are written under.
func (e *Executor) secretsRoot() error {
	if err := executor.PrepareSecretsRoot(e.secretsDir); err != nil {
		return fmt.Errorf("process: %w", err)
	}
	return nil
}
