package kubernetes

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// TestRefusedAtApply: every spec Start refuses before making anything,
// CheckSpec refuses with the same error, so a pipeline whose step is
// such a spec is refused when it is applied: by the executor's check, or
// by the pipeline's own rules where they refuse it first. Nothing is made
// in the cluster for any of them.
func TestRefusedAtApply(t *testing.T) {
	t.Parallel()
	e := newTestExecutor(t, Options{})
	eng := newTestEngine(t, e)
	const base = "image: busybox:1.36\n    command: [\"true\"]\n"
	for _, tc := range []struct {
		name string
		edit func(*executor.Spec)
		want string
		// step is the step as a pipeline writes it (besides its name);
		// applyWant is what applying it is refused with.
		step, applyWant string
	}{
		{"NoImage", func(s *executor.Spec) { s.Image = "" }, "no image",
			"command: [\"true\"]\n", "no image"},
		{"UserName", func(s *executor.Spec) { s.User = "app" }, "numeric",
			base + "    user: app\n", "is not a numeric uid"},
		{"UserNameGroup", func(s *executor.Spec) { s.User = "1000:staff" }, "numeric gid",
			base + "    user: \"1000:staff\"\n", "not a numeric gid"},
		{"UserRoot", func(s *executor.Spec) { s.User = "0:0" }, "is root",
			base + "    user: \"0:0\"\n", "is root"},
		{"Capability", func(s *executor.Spec) { s.CapAdd = []string{"ALL"} }, "unknown capability",
			base + "    cap_add: [ALL]\n", "cap_add"},
		{"Pull", func(s *executor.Spec) { s.Pull = "sometimes" }, "pull policy",
			base + "    pull: sometimes\n", "not a pull policy"},
		{"SecretDotName", func(s *executor.Spec) { s.Secrets = map[string][]byte{executor.TokenFile: nil} }, "not a plain file name",
			base + "    secrets: [{name: " + executor.TokenFile + "}]\n", "secrets[0].name"},
		{"SecretKey", func(s *executor.Spec) { s.Secrets = map[string][]byte{"my secret": nil} }, "Kubernetes Secret",
			base + "    secrets: [{name: \"my secret\"}]\n", "secrets[0].name"},
		{"NoCommand", func(s *executor.Spec) { s.Command = nil }, "no command",
			"image: busybox:1.36\n", "missing command"},
	} {
		spec := testSpec()
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
			t.Errorf("%s: Start made something (%s) for a spec it refused", tc.name, h.ID)
		}
		if tc.name == "NoImage" && !errors.Is(err, executor.ErrImageNotFound) {
			t.Errorf("NoImage: err = %v, want ErrImageNotFound", err)
		}

		file := "name: refused\nsteps:\n  - name: build\n    " + tc.step
		_, _, err = eng.Apply(t.Context(), "refused.yaml", []byte(file))
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), tc.applyWant) {
			t.Errorf("%s: Apply err = %v, want it refused: %q", tc.name, err, tc.applyWant)
		}
	}
	jobs, _ := e.client.BatchV1().Jobs("baton-jobs").List(t.Context(), listOne)
	if len(jobs.Items) != 0 {
		t.Errorf("%d jobs made for refused specs", len(jobs.Items))
	}
	if _, _, err := eng.Apply(t.Context(), "ok.yaml", []byte("name: ok\nsteps:\n  - name: build\n    "+base+"    user: \"1000:1000\"\n    secrets: [{name: api.key}]\n")); err != nil {
		t.Errorf("Apply of a step Kubernetes can run: %v", err)
	}
}

// TestApplyNamesTheStep: the refusal says which step, on which executor,
// and why, for every step the executor cannot run.
func TestApplyNamesTheStep(t *testing.T) {
	t.Parallel()
	eng := newTestEngine(t, newTestExecutor(t, Options{Name: "cluster"}))
	file := `name: two
steps:
  - name: first
    image: busybox:1.36
    command: ["true"]
    user: app
  - name: second
    command: ["true"]
`
	_, _, err := eng.Apply(t.Context(), "two.yaml", []byte(file))
	if err == nil {
		t.Fatal("Apply succeeded, want both steps refused")
	}
	for _, want := range []string{`step "first" cannot run on executor "cluster"`, `user "app"`, `step "second" cannot run on executor "cluster"`, "no image"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Apply err = %v, want it to say %q", err, want)
		}
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

// FuzzCheckSpec: whatever user and secret name a pipeline writes,
// CheckSpec decides without panicking, and a spec it accepts makes a Job
// that runs as the numbers written, never as root.
func FuzzCheckSpec(f *testing.F) {
	for _, seed := range [][2]string{
		{"1000", "api.key"}, {"1000:1000", "a"}, {"0", "x"}, {"app", "y"}, {"1000:staff", "z"},
		{"", "my secret"}, {"-1", ".baton-token"}, {"99999999999", "a/b"}, {"1:2:3", ""}, {" 1", "é"},
	} {
		f.Add(seed[0], seed[1])
	}
	e, err := New(Options{Client: fake.NewClientset(), Namespace: "baton-jobs", HelperImage: "registry.example/baton:test"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, user, secret string) {
		spec := testSpec()
		spec.User = user
		spec.Secrets = map[string][]byte{secret: []byte("x")}
		if err := e.CheckSpec(spec); err != nil {
			return
		}
		job, err := e.job(spec, "baton-fuzz")
		if err != nil {
			t.Fatalf("CheckSpec accepted user %q, secret %q, but the job cannot be built: %v", user, secret, err)
		}
		sc := job.Spec.Template.Spec.SecurityContext
		if user == "" {
			if sc.RunAsUser != nil {
				t.Errorf("no user, but runAsUser %d", *sc.RunAsUser)
			}
			return
		}
		uid, _, _ := strings.Cut(user, ":")
		if sc.RunAsUser == nil || *sc.RunAsUser <= 0 || strconv.FormatInt(*sc.RunAsUser, 10) != strings.TrimLeft(uid, "+0") || !*sc.RunAsNonRoot {
			t.Errorf("user %q accepted as runAsUser %v, runAsNonRoot %v", user, sc.RunAsUser, sc.RunAsNonRoot)
		}
	})
}
