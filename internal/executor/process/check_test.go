package process_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/executortest"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// TestRefusedAtApply: every spec Start refuses from the spec alone,
// CheckSpec refuses with the same error, so a pipeline whose step is such
// a spec is refused when it is applied: by the executor's check, or by the
// pipeline's own rules where they refuse it first. Start makes nothing
// for any of them: no scratch directory, no secrets.
func TestRefusedAtApply(t *testing.T) {
	t.Parallel()
	dir, secrets := t.TempDir(), executortest.SecretsDir(t)
	e := process.New(process.Options{Dir: dir, SecretsDir: secrets})
	eng := newTestEngine(t, e)
	const base = "command: [\"true\"]\n"
	const enforce = "which the process executor cannot enforce; run it with the docker executor"
	for _, tc := range []struct {
		name string
		edit func(*executor.Spec)
		want string
		// step is the step as a pipeline writes it (besides its name);
		// applyWant is what applying it is refused with.
		step, applyWant string
	}{
		{"NoCommand", func(s *executor.Spec) { s.Command = nil }, "no command",
			"image: busybox:1.36\n", "missing command"},
		{"User", func(s *executor.Spec) { s.User = "1000" }, "asks for user, " + enforce,
			base + "    user: \"1000\"\n", "asks for user, " + enforce},
		{"UserName", func(s *executor.Spec) { s.User = "nobody" }, "asks for user, " + enforce,
			base + "    user: nobody\n", "asks for user, " + enforce},
		{"ReadOnlyRoot", func(s *executor.Spec) { s.ReadOnlyRoot = true }, "asks for a read-only root, " + enforce,
			base + "    read_only: true\n", "asks for a read-only root, " + enforce},
		{"CapAdd", func(s *executor.Spec) { s.CapAdd = []string{"NET_ADMIN"} }, "asks for capabilities, " + enforce,
			base + "    cap_add: [NET_ADMIN]\n", "asks for capabilities, " + enforce},
		{"Memory", func(s *executor.Spec) { s.Limits.MemoryBytes = 64 << 20 }, "asks for resource limits, " + enforce,
			base + "    resources: {memory: 64Mi}\n", "asks for resource limits, " + enforce},
		{"PIDs", func(s *executor.Spec) { s.Limits.PIDs = 10 }, "asks for resource limits, " + enforce,
			base + "    resources: {pids: 10}\n", "asks for resource limits, " + enforce},
		{"CPUs", func(s *executor.Spec) { s.Limits.NanoCPUs = 1e9 }, "asks for resource limits, " + enforce,
			base + "    resources: {cpus: 1}\n", "asks for resource limits, " + enforce},
		{"Everything", func(s *executor.Spec) { s.User, s.ReadOnlyRoot, s.Limits.PIDs = "1", true, 1 },
			"asks for user, a read-only root, resource limits, " + enforce,
			base + "    user: \"1\"\n    read_only: true\n    resources: {pids: 1}\n", "asks for user, a read-only root, resource limits, " + enforce},
		{"SecretDotName", func(s *executor.Spec) { s.Secrets = map[string][]byte{executor.TokenFile: []byte("x")} }, "not a plain file name",
			base + "    secrets: [{name: " + executor.TokenFile + "}]\n", "secrets[0].name"},
		{"SecretPath", func(s *executor.Spec) { s.Secrets = map[string][]byte{"../x": []byte("x")} }, "not a plain file name",
			base + "    secrets: [{name: ../x}]\n", "secrets[0].name"},
	} {
		spec := &executor.Spec{RunID: "run1", Step: "build", Attempt: 1, Command: []string{"true"}, Token: "tok"}
		tc.edit(spec)
		checkErr := e.CheckSpec(spec)
		if checkErr == nil || !strings.Contains(checkErr.Error(), tc.want) {
			t.Errorf("%s: CheckSpec err = %v, want %q", tc.name, checkErr, tc.want)
		}
		h, err := e.Start(t.Context(), spec)
		if err == nil || checkErr == nil || err.Error() != checkErr.Error() {
			t.Errorf("%s: Start err = %v, want CheckSpec's: %v", tc.name, err, checkErr)
		}
		if h != nil {
			t.Errorf("%s: Start made something (%s) for a spec it refused", tc.name, h.Dir)
		}

		file := "name: refused\nsteps:\n  - name: build\n    " + tc.step
		_, _, err = eng.Apply(t.Context(), "refused.yaml", []byte(file))
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), tc.applyWant) {
			t.Errorf("%s: Apply err = %v, want it refused: %q", tc.name, err, tc.applyWant)
		}
	}
	for _, d := range []string{dir, secrets} {
		if left, err := os.ReadDir(d); len(left) != 0 || err != nil && !os.IsNotExist(err) {
			t.Errorf("%s holds %d entries (err %v) after refused starts, want none", d, len(left), err)
		}
	}
	ok := "name: ok\nsteps:\n  - name: build\n    image: busybox:1.36\n    pull: always\n    " + base + "    timeout: 1m\n    secrets: [{name: api.key}]\n"
	if _, _, err := eng.Apply(t.Context(), "ok.yaml", []byte(ok)); err != nil {
		t.Errorf("Apply of a step the process executor can run: %v", err)
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
