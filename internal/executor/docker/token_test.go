package docker_test

import (
	"context"
	"io"
	"net"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/executor/executortest"
)

const token = "tok-0123456789abcdef-do-not-leak"

// The token reaches the step as a read-only file and nowhere in the
// container's configuration, which `docker inspect` shows and the engine
// keeps on disk.
func TestTokenOutOfConfig(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	s := spec(t, image, "sh", "-c", `env | grep -q "$(cat "$BATON_TOKEN_FILE")" && exit 10
		echo x > "$BATON_TOKEN_FILE" 2>/dev/null && exit 11
		cat "$BATON_TOKEN_FILE" > "$BATON_OUTPUT"`)
	s.Token = token
	s.Env = map[string]string{executor.EnvToken: "from-the-spec", executor.EnvTokenFile: "/elsewhere"}
	h, r := run(t, e, s)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (10: token in the environment, 11: token file writable)", r.ExitCode)
	}
	if string(r.Output) != token {
		t.Errorf("token file holds %q, want %q", r.Output, token)
	}
	info := inspect(t, h)
	for _, env := range info.Config.Env {
		if strings.Contains(env, token) || strings.HasPrefix(env, executor.EnvToken+"=") {
			t.Errorf("token in the container's environment: %q", env)
		}
	}
	want := executor.EnvTokenFile + "=" + path.Join(executor.SecretsDir, executor.TokenFile)
	if !slices.Contains(info.Config.Env, want) {
		t.Errorf("Env = %q, want %s", info.Config.Env, want)
	}
	for _, arg := range append(slices.Clone(info.Config.Cmd), info.Path) {
		if strings.Contains(arg, token) {
			t.Errorf("token in the container's command: %q", arg)
		}
	}
	checkSecretsMount(t, info)
}

// Every attempt gets its secrets directory, with or without secrets, so
// the token can be there.
func TestSecretsDirWithoutSecrets(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	h, r := run(t, e, spec(t, image, "sh", "-c", `test -d "$BATON_SECRETS_DIR"`))
	if r.ExitCode != 0 {
		t.Errorf("exit %d: no secrets directory", r.ExitCode)
	}
	checkSecretsMount(t, inspect(t, h))
}

// Docker's own log of a step is bounded: baton keeps its own copy.
func TestDockerLogBounded(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	h, _ := run(t, e, spec(t, image, "true"))
	lc := inspect(t, h).HostConfig.LogConfig
	if lc.Type != "json-file" || lc.Config["max-size"] != "16m" || lc.Config["max-file"] != "2" {
		t.Errorf("LogConfig = %+v, want json-file with max-size 16m and max-file 2", lc)
	}
}

// tcpEngine forwards a TCP port on 127.0.0.1 to the engine's unix socket,
// so the executor sees an engine it must take to be on another machine.
func tcpEngine(t *testing.T) string {
	t.Helper()
	sock := strings.TrimPrefix(dockertest.Client(t).DaemonHost(), "unix://")
	if strings.Contains(sock, "://") {
		t.Skip("the test engine is not on a unix socket")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("unix", sock)
				if err != nil {
					return
				}
				defer u.Close()
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
	return "tcp://" + ln.Addr().String()
}

// With an engine on another machine nothing can be bind-mounted: the token
// falls back to the environment, and steps with secrets are refused with
// the way out, rather than run without them.
func TestRemoteEngine(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e, err := docker.New(docker.Options{Host: tcpEngine(t), SecretsDir: executortest.SecretsDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	s := spec(t, image, "sh", "-c", `test -z "$BATON_TOKEN_FILE" || exit 10; printf %s "$BATON_TOKEN" > "$BATON_OUTPUT"`)
	s.Token = token
	h, r := run(t, e, s)
	if r.ExitCode != 0 || string(r.Output) != token {
		t.Fatalf("exit %d, output %q; want 0 and the token from %s (10: a token file was promised)", r.ExitCode, r.Output, executor.EnvToken)
	}
	info := inspect(t, h)
	if slices.ContainsFunc(info.Mounts, func(m container.MountPoint) bool { return m.Type == "bind" }) {
		t.Errorf("Mounts = %+v, want no bind mount with a remote engine", info.Mounts)
	}

	s = spec(t, image, "true")
	s.Secrets = map[string][]byte{"db": []byte(secret)}
	h, err = e.Start(ctx(t), s)
	if h != nil {
		t.Cleanup(func() { _ = e.Remove(context.Background(), h) })
	}
	if err == nil || !strings.Contains(err.Error(), "not on this machine") || !strings.Contains(err.Error(), "/secrets/") {
		t.Errorf("Start with secrets on a remote engine: err = %v, want a refusal with the callback alternative", err)
	}
}
