package docker_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/executor/executortest"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// TestRefusedAtApply: every spec Start refuses from the spec alone,
// CheckSpec refuses with the same error, so a pipeline whose step is such
// a spec is refused when it is applied: by the executor's check, or by the
// pipeline's own rules where they refuse it first. The image is on the
// engine, so each refusal is the check's; and nothing is made for any of
// them: no container, no secrets directory, no output directory.
func TestRefusedAtApply(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	secrets, outputs := executortest.SecretsDir(t), filepath.Join(t.TempDir(), "outputs")
	local, err := docker.New(docker.Options{SecretsDir: secrets, OutputDir: outputs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	remote, err := docker.New(docker.Options{Host: tcpEngine(t), SecretsDir: secrets, OutputDir: outputs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Close() })
	engines := map[*docker.Executor]*engine.Engine{local: newTestEngine(t, local), remote: newTestEngine(t, remote)}

	base := "image: " + image + "\n    pull: never\n    command: [\"true\"]\n"
	for _, tc := range []struct {
		name string
		e    *docker.Executor
		edit func(*executor.Spec)
		want string
		// step is the step as a pipeline writes it (besides its name);
		// applyWant is what applying it is refused with.
		step, applyWant string
	}{
		{"NoImage", local, func(s *executor.Spec) { s.Image = "" }, "no image",
			"command: [\"true\"]\n", "no image"},
		{"ImageUpperCase", local, func(s *executor.Spec) { s.Image = "Busybox:1.36" }, "repository name must be lowercase",
			"image: Busybox:1.36\n    command: [\"true\"]\n", "repository name must be lowercase"},
		{"ImageSpace", local, func(s *executor.Spec) { s.Image = "busybox 1.36" }, "invalid reference format",
			"image: busybox 1.36\n    command: [\"true\"]\n", "invalid reference format"},
		{"ImageBadDigest", local, func(s *executor.Spec) { s.Image = image + "@sha256:xyz" }, "not an image reference",
			"image: " + image + "@sha256:xyz\n    command: [\"true\"]\n", "not an image reference"},
		{"Pull", local, func(s *executor.Spec) { s.Pull = "sometimes" }, "unknown pull policy",
			"image: " + image + "\n    command: [\"true\"]\n    pull: sometimes\n", "not a pull policy"},
		{"Capability", local, func(s *executor.Spec) { s.CapAdd = []string{"ALL"} }, "unknown capability",
			base + "    cap_add: [ALL]\n", "cap_add"},
		{"SecretDotName", local, func(s *executor.Spec) { s.Secrets = map[string][]byte{executor.TokenFile: nil} }, "not a plain file name",
			base + "    secrets: [{name: " + executor.TokenFile + "}]\n", "secrets[0].name"},
		{"MemoryBelowEngine", local, func(s *executor.Spec) { s.Limits.MemoryBytes = 4 << 20 }, "memory limit 4 MiB is below the 6 MiB",
			base + "    resources: {memory: 4Mi}\n", "memory limit 4 MiB is below the 6 MiB"},
		{"CPUsBelowQuota", local, func(s *executor.Spec) { s.Limits.NanoCPUs = 1e6 }, "CPU limit 0.001 CPUs is below 0.01",
			base + "    resources: {cpus: 0.001}\n", "CPU limit 0.001 CPUs is below 0.01"},
		// A quota that rounds to zero would have been no limit at all.
		{"CPUsRoundToNone", local, func(s *executor.Spec) { s.Limits.NanoCPUs = 1 }, "CPU limit 0.000000001 CPUs is below 0.01",
			base + "    resources: {cpus: 0.000000001}\n", "CPU limit 0.000000001 CPUs is below 0.01"},
		{"SecretsRemote", remote, func(s *executor.Spec) { s.Secrets = map[string][]byte{"db": []byte(secret)} }, "not on this machine",
			base + "    secrets: [{name: db}]\n", "not on this machine"},
	} {
		s := spec(t, image, "true")
		s.Token = token
		tc.edit(s)
		checkErr := tc.e.CheckSpec(s)
		if checkErr == nil || !strings.Contains(checkErr.Error(), tc.want) {
			t.Errorf("%s: CheckSpec err = %v, want %q", tc.name, checkErr, tc.want)
		}
		h, err := tc.e.Start(ctx(t), s)
		if h != nil {
			t.Cleanup(func() { _ = tc.e.Remove(ctx(t), h) })
			t.Errorf("%s: Start made container %s for a spec it refused", tc.name, h.ID)
		}
		if err == nil || checkErr == nil || err.Error() != checkErr.Error() {
			t.Errorf("%s: Start err = %v, want CheckSpec's: %v", tc.name, err, checkErr)
		}
		if strings.HasPrefix(tc.name, "Image") || tc.name == "NoImage" {
			if !errors.Is(err, executor.ErrImageNotFound) {
				t.Errorf("%s: err = %v, want %v: no retry can run it", tc.name, err, executor.ErrImageNotFound)
			}
		}
		if list, err := cli.ContainerList(ctx(t), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+s.RunID))}); err != nil || len(list) != 0 {
			t.Errorf("%s: %d containers of the refused attempt (err %v)", tc.name, len(list), err)
		}

		file := "name: refused\nsteps:\n  - name: build\n    " + tc.step
		_, _, err = engines[tc.e].Apply(ctx(t), "refused.yaml", []byte(file))
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), tc.applyWant) {
			t.Errorf("%s: Apply err = %v, want it refused: %q", tc.name, err, tc.applyWant)
		}
	}
	for _, d := range []string{secrets, outputs} {
		if left, err := os.ReadDir(d); len(left) != 0 || err != nil && !os.IsNotExist(err) {
			t.Errorf("%s holds %d entries (err %v) after refused starts, want none", d, len(left), err)
		}
	}
	ok := "name: ok\nsteps:\n  - name: build\n    " + base + "    resources: {memory: 6Mi, cpus: 0.01}\n    cap_add: [NET_RAW]\n"
	if _, _, err := engines[local].Apply(ctx(t), "ok.yaml", []byte(ok+"    secrets: [{name: db}]\n")); err != nil {
		t.Errorf("Apply of a step the docker executor can run: %v", err)
	}
	if _, _, err := engines[remote].Apply(ctx(t), "ok.yaml", []byte(ok)); err != nil {
		t.Errorf("Apply of a step without secrets on a remote engine: %v", err)
	}
}

// The least limits CheckSpec lets through are ones the engine and the
// kernel accept and enforce: the check is not stricter than the engine.
func TestLimitsAtTheMinimum(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	s := spec(t, image, "sh", "-c", `{ cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us; } > "$BATON_OUTPUT"`)
	s.Limits = executor.Limits{MemoryBytes: docker.MinMemoryBytes, NanoCPUs: docker.MinNanoCPUs}
	if err := e.CheckSpec(s); err != nil {
		t.Fatal(err)
	}
	h, r := run(t, e, s)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d at the minimum limits", r.ExitCode)
	}
	if c := inspect(t, h); c.HostConfig.Memory != docker.MinMemoryBytes || c.HostConfig.NanoCPUs != docker.MinNanoCPUs {
		t.Errorf("memory %d, CPUs %d; want %d, %d", c.HostConfig.Memory, c.HostConfig.NanoCPUs, docker.MinMemoryBytes, docker.MinNanoCPUs)
	}
	if got := strings.Fields(string(r.Output)); len(got) == 0 || got[0] != "1000" {
		t.Errorf("CPU quota %q, want 1000 µs per period", r.Output)
	}
}

// newTestEngine is an engine on a fresh SQLite store whose one executor is e.
func newTestEngine(t *testing.T, e executor.Executor) *engine.Engine {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Store: st, Executor: e})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = eng.Close(t.Context())
		_ = st.Close()
	})
	return eng
}
