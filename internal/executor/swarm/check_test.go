package swarm_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/swarm/swarmtest"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// TestRefusedAtApply: every spec Start refuses from what a pipeline
// fixes, CheckSpec refuses with the same error, so a pipeline whose step
// is such a spec is refused when it is applied: by the executor's check,
// or by the pipeline's own rules where they refuse it first. The image is
// on every node, so each refusal is the check's; and nothing is made for
// any of them anywhere in the swarm.
func TestRefusedAtApply(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s)
	eng := newTestEngine(t, e)
	rid := runID(t)
	base := "image: " + image + "\n    command: [\"true\"]\n"
	for i, tc := range []struct {
		name string
		edit func(*executor.Spec)
		want string
		// step is the step as a pipeline writes it (besides its name);
		// applyWant is what applying it is refused with.
		step, applyWant string
	}{
		{"NoImage", func(sp *executor.Spec) { sp.Image = "" }, "no image",
			"command: [\"true\"]\n", "no image"},
		{"ImageUpperCase", func(sp *executor.Spec) { sp.Image = "Busybox:1.36" }, "repository name must be lowercase",
			"image: Busybox:1.36\n    command: [\"true\"]\n", "repository name must be lowercase"},
		{"ImageSpace", func(sp *executor.Spec) { sp.Image = "busybox 1.36" }, "invalid reference format",
			"image: busybox 1.36\n    command: [\"true\"]\n", "invalid reference format"},
		{"Pull", func(sp *executor.Spec) { sp.Pull = "sometimes" }, "unknown pull policy",
			base + "    pull: sometimes\n", "not a pull policy"},
		{"Capability", func(sp *executor.Spec) { sp.CapAdd = []string{"ALL"} }, "unknown capability",
			base + "    cap_add: [ALL]\n", "cap_add"},
		{"SecretDotName", func(sp *executor.Spec) { sp.Secrets = map[string][]byte{executor.TokenFile: []byte("v")} }, "not a plain file name",
			base + "    secrets: [{name: " + executor.TokenFile + "}]\n", "secrets[0].name"},
		// The node's engine rejects the task.
		{"MemoryBelowEngine", func(sp *executor.Spec) { sp.Limits.MemoryBytes = 4 << 20 }, "memory limit 4 MiB is below the 6 MiB",
			base + "    resources: {memory: 4Mi}\n", "memory limit 4 MiB is below the 6 MiB"},
		// The kernel refuses the task's CPU quota: it fails to start.
		{"CPUsBelowQuota", func(sp *executor.Spec) { sp.Limits.NanoCPUs = 1e6 }, "CPU limit 0.001 CPUs is below 0.01",
			base + "    resources: {cpus: 0.001}\n", "CPU limit 0.001 CPUs is below 0.01"},
		// The manager refuses the service, after the volumes were made.
		{"CPUsBelowSwarm", func(sp *executor.Spec) { sp.Limits.NanoCPUs = 1e5 }, "CPU limit 0.0001 CPUs is below 0.01",
			base + "    resources: {cpus: 0.0001}\n", "CPU limit 0.0001 CPUs is below 0.01"},
	} {
		sp := spec(t, rid, image, "true")
		sp.Attempt = i + 1
		sp.Token = "tok-" + rid
		sp.Secrets = map[string][]byte{"db": []byte("secret-value")}
		tc.edit(sp)
		checkErr := e.CheckSpec(sp)
		if checkErr == nil || !strings.Contains(checkErr.Error(), tc.want) {
			t.Errorf("%s: CheckSpec err = %v, want %q", tc.name, checkErr, tc.want)
		}
		h, err := e.Start(ctx(t), sp)
		if h != nil {
			t.Cleanup(func() { _ = e.Remove(ctx(t), h) })
			t.Errorf("%s: Start made service %s for a spec it refused", tc.name, h.ID)
		}
		if err == nil || checkErr == nil || err.Error() != checkErr.Error() {
			t.Errorf("%s: Start err = %v, want CheckSpec's: %v", tc.name, err, checkErr)
		}
		if strings.Contains(tc.name, "Image") && !errors.Is(err, executor.ErrImageNotFound) {
			t.Errorf("%s: err = %v, want %v: no retry can run it", tc.name, err, executor.ErrImageNotFound)
		}

		file := "name: refused\nsteps:\n  - name: build\n    " + tc.step
		_, _, err = eng.Apply(ctx(t), "refused.yaml", []byte(file))
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), tc.applyWant) {
			t.Errorf("%s: Apply err = %v, want it refused: %q", tc.name, err, tc.applyWant)
		}
	}
	if left := leftovers(t, s, rid); len(left) != 0 {
		t.Errorf("%q made for refused specs", left)
	}
	ok := "name: ok\nsteps:\n  - name: build\n    " + base + "    pull: never\n    resources: {memory: 6Mi, cpus: 0.01}\n    cap_add: [NET_RAW]\n    secrets: [{name: db}]\n"
	if _, _, err := eng.Apply(ctx(t), "ok.yaml", []byte(ok)); err != nil {
		t.Errorf("Apply of a step the swarm can run: %v", err)
	}
}

// The least limits CheckSpec lets through are ones every node's engine
// and kernel accept: the check is not stricter than the swarm.
func TestLimitsAtTheMinimum(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s)
	sp := spec(t, runID(t), image, "sh", "-c", `{ cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us; } > "$BATON_OUTPUT"`)
	sp.Limits = executor.Limits{MemoryBytes: 6 << 20, NanoCPUs: 1e7}
	if err := e.CheckSpec(sp); err != nil {
		t.Fatal(err)
	}
	_, r := run(t, e, sp)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d at the minimum limits", r.ExitCode)
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
