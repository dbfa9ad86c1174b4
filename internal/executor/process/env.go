package process

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/baton-dev/baton/internal/executor"
)

// environ is the step's environment plus PATH and HOME from the host, so that
// commands such as sh resolve.
func environ(stepEnv map[string]string) map[string]string {
	env := make(map[string]string, len(stepEnv)+3)
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range stepEnv {
		env[k] = v
	}
	for _, k := range []string{executor.EnvOutput, executor.EnvSecretsDir, executor.EnvToken, executor.EnvTokenFile} {
		delete(env, k)
	}
	return env
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// lookPath finds file in the step's PATH rather than the server's. Relative
// PATH entries are skipped, as exec.LookPath refuses them.
func lookPath(file, path string) (string, error) {
	if filepath.Base(file) != file {
		abs, err := filepath.Abs(file)
		if err != nil {
			return "", err
		}
		if err := executable(abs); err != nil {
			return "", err
		}
		return abs, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, file)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s: %w", path, os.ErrPermission)
	}
	return nil
}

// attemptPrefix starts the name of an attempt's scratch directory.
func attemptPrefix(spec *executor.Spec) string { return spec.Slug(100) + "-" }
