package docker_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/executor/executortest"
)

const secret = "hunter2-do-not-leak"

// inspect returns what the engine says about the container of h.
func inspect(t *testing.T, h *executor.Handle) container.InspectResponse {
	t.Helper()
	info, err := dockertest.Client(t).ContainerInspect(ctx(t), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// Every container is hardened, whatever the spec asks for.
func TestHardenedByDefault(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	s := spec(t, image, "sh", "-c", `touch /baton-rw && echo x > /tmp/x && cat /run/secrets/token > "$BATON_OUTPUT"`)
	s.Secrets = map[string][]byte{"token": []byte(secret)}
	h, r := run(t, e, s)
	if r.ExitCode != 0 || string(r.Output) != secret {
		t.Fatalf("exit %d, output %q; want 0 and the secret", r.ExitCode, r.Output)
	}
	if !strings.HasPrefix(r.ImageDigest, "sha256:") && !strings.Contains(r.ImageDigest, "@sha256:") {
		t.Errorf("ImageDigest = %q, want an image ID or repo digest", r.ImageDigest)
	}

	info := inspect(t, h)
	hc := info.HostConfig
	if !slices.Equal(hc.CapDrop, []string{"ALL"}) || len(hc.CapAdd) != 0 {
		t.Errorf("CapDrop = %q, CapAdd = %q; want ALL and none", hc.CapDrop, hc.CapAdd)
	}
	if !slices.Contains(hc.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("SecurityOpt = %q, want no-new-privileges:true", hc.SecurityOpt)
	}
	if hc.Privileged {
		t.Error("Privileged = true")
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != docker.DefaultPIDs {
		t.Errorf("PidsLimit = %v, want %d", hc.PidsLimit, docker.DefaultPIDs)
	}
	if hc.Memory != 0 || hc.NanoCPUs != 0 {
		t.Errorf("Memory = %d, NanoCPUs = %d; want no limits by default", hc.Memory, hc.NanoCPUs)
	}
	if hc.ReadonlyRootfs || info.Config.User != "" {
		t.Errorf("ReadonlyRootfs = %v, User = %q; want the image's defaults", hc.ReadonlyRootfs, info.Config.User)
	}
	for what, mode := range map[string]string{
		"network": string(hc.NetworkMode), "pid": string(hc.PidMode), "ipc": string(hc.IpcMode),
		"uts": string(hc.UTSMode), "userns": string(hc.UsernsMode), "cgroupns": string(hc.CgroupnsMode),
	} {
		if mode == "host" {
			t.Errorf("%s namespace is the host's", what)
		}
	}
	if _, ok := hc.Tmpfs["/tmp"]; !ok {
		t.Errorf("Tmpfs = %v, want /tmp", hc.Tmpfs)
	}
	checkSecretsMount(t, info)
}

func checkSecretsMount(t *testing.T, info container.InspectResponse) {
	t.Helper()
	for _, env := range info.Config.Env {
		if strings.Contains(env, secret) {
			t.Errorf("secret in the container's environment: %q", env)
		}
	}
	if !slices.Contains(info.Config.Env, "BATON_SECRETS_DIR="+executor.SecretsDir) {
		t.Errorf("Env = %q, want BATON_SECRETS_DIR=%s", info.Config.Env, executor.SecretsDir)
	}
	i := slices.IndexFunc(info.Mounts, func(m container.MountPoint) bool { return m.Destination == executor.SecretsDir })
	if i < 0 {
		t.Fatalf("no mount at %s: %+v", executor.SecretsDir, info.Mounts)
	}
	if m := info.Mounts[i]; m.RW {
		t.Errorf("%s is mounted read-write", executor.SecretsDir)
	}
}

// What a step asks for is applied on top of the hardening.
func TestSpecPolicy(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	// Exit codes say which check failed.
	s := spec(t, image, "sh", "-c", `touch /nope 2>/dev/null && exit 10
		echo tmp > /tmp/x || exit 11
		test "$(cat /run/secrets/token)" = `+secret+` || exit 12
		id -u >> "$BATON_OUTPUT" || exit 13`)
	s.ReadOnlyRoot = true
	s.User = "1000:1000"
	s.CapAdd = []string{"CAP_NET_BIND_SERVICE"}
	s.Limits = executor.Limits{MemoryBytes: 64 << 20, PIDs: 64, NanoCPUs: 5e8}
	s.Secrets = map[string][]byte{"token": []byte(secret)}
	h, r := run(t, e, s)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (10: root writable, 11: /tmp not writable, 12: secret unreadable, 13: output not writable)", r.ExitCode)
	}
	if got := string(r.Output); got != "1000\n" {
		t.Errorf("output = %q, want the uid 1000", got)
	}

	info := inspect(t, h)
	hc := info.HostConfig
	if !hc.ReadonlyRootfs {
		t.Error("ReadonlyRootfs = false")
	}
	if info.Config.User != "1000:1000" {
		t.Errorf("User = %q", info.Config.User)
	}
	// Engines differ in whether they report the CAP_ prefix.
	if len(hc.CapAdd) != 1 || strings.TrimPrefix(hc.CapAdd[0], "CAP_") != "NET_BIND_SERVICE" || !slices.Equal(hc.CapDrop, []string{"ALL"}) {
		t.Errorf("CapAdd = %q, CapDrop = %q", hc.CapAdd, hc.CapDrop)
	}
	if hc.Memory != 64<<20 || hc.NanoCPUs != 5e8 || hc.PidsLimit == nil || *hc.PidsLimit != 64 {
		t.Errorf("Memory = %d, NanoCPUs = %d, PidsLimit = %v", hc.Memory, hc.NanoCPUs, hc.PidsLimit)
	}
	checkSecretsMount(t, info)
}

// A root user without capabilities is still denied a read-only root.
func TestReadOnlyRootAsRoot(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	s := spec(t, image, "sh", "-c", `touch /nope 2>"$BATON_OUTPUT"; echo ok >> /tmp/x && echo ok > /baton/extra`)
	s.ReadOnlyRoot = true
	_, r := run(t, e, s)
	if r.ExitCode != 0 {
		t.Errorf("exit %d, want 0: /tmp and /baton must stay writable", r.ExitCode)
	}
	if !strings.Contains(string(r.Output), "Read-only file system") {
		t.Errorf("touch / said %q, want Read-only file system", r.Output)
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	dockertest.Client(t)
	e, err := docker.New(docker.Options{DefaultLimits: executor.Limits{MemoryBytes: 32 << 20, PIDs: 100}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	s := spec(t, image, "true")
	s.Limits.PIDs = 7 // the step's own limit wins
	h, _ := run(t, e, s)
	hc := inspect(t, h).HostConfig
	if hc.Memory != 32<<20 || hc.PidsLimit == nil || *hc.PidsLimit != 7 {
		t.Errorf("Memory = %d, PidsLimit = %v; want the default 32 MiB and the step's 7", hc.Memory, hc.PidsLimit)
	}
}

func TestMemoryLimitEnforced(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	// /tmp is a tmpfs, whose pages count against the container's memory.
	s := spec(t, image, "sh", "-c", `head -c 200000000 /dev/zero > /tmp/fill`)
	s.Limits.MemoryBytes = 32 << 20
	_, r := run(t, e, s)
	if r.ExitCode == 0 {
		t.Error("writing 200 MB to a tmpfs under a 32 MiB limit succeeded")
	}
}

func TestBadCapability(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	s := spec(t, image, "true")
	s.CapAdd = []string{"ALL"}
	h, err := e.Start(ctx(t), s)
	if h != nil {
		t.Cleanup(func() { _ = e.Remove(context.Background(), h) })
	}
	if err == nil || !strings.Contains(err.Error(), `"ALL"`) {
		t.Errorf("err = %v, want a refusal naming ALL", err)
	}
}

func TestSecretsNeedTmpfs(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	dockertest.Client(t)
	root := filepath.Join(t.TempDir(), "secrets") // on disk here
	e, err := docker.New(docker.Options{SecretsDir: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	s := spec(t, image, "true")
	s.Secrets = map[string][]byte{"token": []byte(secret)}
	h, err := e.Start(ctx(t), s)
	if h != nil {
		t.Cleanup(func() { _ = e.Remove(context.Background(), h) })
	}
	if err == nil || !strings.Contains(err.Error(), "tmpfs") {
		t.Skipf("err = %v; the temporary directory may be a tmpfs here", err)
	}
	if h != nil {
		t.Errorf("handle = %+v, want nil: nothing should be created", h)
	}
}

// A container that fails to start has its secrets removed at once.
func TestStartFailureRemovesSecrets(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	dockertest.Client(t)
	root := executortest.SecretsDir(t)
	e, err := docker.New(docker.Options{SecretsDir: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	s := spec(t, image, "baton-no-such-command")
	s.Secrets = map[string][]byte{"token": []byte(secret)}
	h, err := e.Start(ctx(t), s)
	if h != nil {
		t.Cleanup(func() { _ = e.Remove(context.Background(), h) })
	}
	if err == nil {
		t.Fatal("Start succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(root, "*")); len(left) != 0 {
		t.Errorf("secrets left after a failed Start: %q", left)
	}
}
