package registry

import (
	"context"
	"path/filepath"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/executor/process"
)

// dockerFields are a docker entry's own fields.
type dockerFields struct {
	// Host is the engine's API, e.g. unix:///var/run/docker.sock; empty
	// means DOCKER_HOST, then the default socket.
	Host string `yaml:"host"`
}

// newDocker makes a docker executor. Where baton may mount, each attempt's
// /baton is a small tmpfs under DATA_DIR/outputs (outputs-NAME for an
// executor not named docker, so that no two sweep each other's).
func newDocker(_ context.Context, env *Env, name string, f *dockerFields) (executor.Executor, error) {
	var outputs string
	if env.DataDir != "" {
		outputs = filepath.Join(env.DataDir, "outputs")
		if name != "docker" {
			outputs += "-" + name
		}
	}
	return docker.New(docker.Options{
		Host: f.Host, Logger: env.Logger.With("executor", name), Instance: env.Instance,
		SecretsDir: env.SecretsDir, DefaultLimits: env.DefaultLimits, OutputDir: outputs,
	})
}

// processFields are a process entry's own fields: none.
type processFields struct{}

// newProcess runs steps as processes of baton's. The executor named
// process keeps its attempts' scratch directories where baton always has
// (DATA_DIR/process); another gets its own, so that no two share one.
func newProcess(_ context.Context, env *Env, name string, _ *processFields) (executor.Executor, error) {
	dir := "process"
	if name != "process" {
		dir = "process-" + name
	}
	return process.New(process.Options{
		Dir: filepath.Join(env.DataDir, dir), Logger: env.Logger.With("executor", name), SecretsDir: env.SecretsDir,
	}), nil
}

// noopFields are a noop entry's own fields: none.
type noopFields struct{}

func newNoop(context.Context, *Env, string, *noopFields) (executor.Executor, error) {
	return noop.New(), nil
}
