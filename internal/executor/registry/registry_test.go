package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/executor/registry"
	"github.com/baton-dev/baton/internal/executor/swarm"
	"github.com/baton-dev/baton/internal/testbin"
)

func load(t *testing.T, content string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "baton.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(config.Source{File: path})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBuildWhatTheFileNames builds one executor of every type a default
// build has under the names the file gives them; each is of its type.
func TestBuildWhatTheFileNames(t *testing.T) {
	t.Parallel()
	c := load(t, `executors:
  local: {type: docker, host: unix:///nonexistent/docker.sock}
  here: {type: process}
  bench: {type: noop}
  swarm: {type: swarm, host: unix:///nonexistent/docker.sock, constraints: [node.role==worker], schedule_timeout: 2m}
default_executor: local
callback_url: https://baton.internal.example
`)
	r := registry.New()
	if err := r.Check(c); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	set, err := r.Build(context.Background(), c.Executors, &registry.Env{DataDir: dataDir, Instance: "abc", SecretsDir: "/dev/shm/x"})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if got := strings.Join(set.Names(), ","); got != "bench,here,local,swarm" {
		t.Fatalf("built %s", got)
	}
	types := map[string]string{"local": "docker", "here": "process", "bench": "noop", "swarm": "swarm"}
	for name, typ := range types {
		if set.Types[name] != typ {
			t.Errorf("%s: type %q, want %s", name, set.Types[name], typ)
		}
	}
	_, isDocker := set.Executors["local"].(*docker.Executor)
	_, isProcess := set.Executors["here"].(*process.Executor)
	_, isNoop := set.Executors["bench"].(*noop.Executor)
	_, isSwarm := set.Executors["swarm"].(*swarm.Executor)
	if !isDocker || !isProcess || !isNoop || !isSwarm {
		t.Fatalf("executors of the wrong kinds: %#v", set.Executors)
	}
}

// TestProcessDirs: the executor named process keeps its scratch space where
// baton always has; another process executor gets its own.
func TestProcessDirs(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	entries := map[string]*config.Executor{
		"process": config.NewExecutor("process", "process"),
		"other":   config.NewExecutor("other", "process"),
	}
	set, err := registry.New().Build(context.Background(), entries, &registry.Env{DataDir: dataDir, SecretsDir: "/dev/shm/x"})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for name, dir := range map[string]string{"process": "process", "other": "process-other"} {
		spec := &executor.Spec{RunID: "r", Step: "s", Attempt: 1, Command: []string{testbin.Busybox(t), "true"}}
		h, err := set.Executors[name].Start(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h.Dir, filepath.Join(dataDir, dir)+string(filepath.Separator)) {
			t.Errorf("%s keeps attempt %q outside %s", name, h.Dir, filepath.Join(dataDir, dir))
		}
		_, _ = set.Executors[name].Wait(context.Background(), h)
		_ = set.Executors[name].Remove(context.Background(), h)
	}
}

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, want string
	}{
		{"unknown type", "executors:\n  gpu: {type: nomad}\n", `:2: executors.gpu: unknown type "nomad"; use one of aci, docker, kubernetes, process, swarm`},
		{"misspelt field", "executors:\n  local:\n    type: docker\n    hots: tcp://x\n", `:4: executors.local: unknown field "hots"; did you mean "host"?`},
		{"field of another type", "executors:\n  local: {type: docker, namespace: jobs}\n", `:2: executors.local: unknown field "namespace"`},
		{"field of the wrong form", "executors:\n  s: {type: swarm, nodes: tcp://a}\n", `:2: executors.s: cannot unmarshal`},
		{"remote without callback_url", "executors:\n  s: {type: swarm}\n", ":2: executors.s: type swarm runs steps on other machines, which reach baton only at callback_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := registry.New().Check(load(t, tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
}
