package aci

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// engineOn is baton's engine on a real SQLite file with one aci executor,
// named aci, on the fake.
type engineOn struct {
	st  store.Store
	eng *engine.Engine
}

func newEngineOn(t *testing.T, dbFile string, x *Executor) *engineOn {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dbFile, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{
		Store: st, Executors: map[string]executor.Executor{"aci": x}, DefaultExecutor: "aci",
		CallbackURL: "https://baton.internal.example", LogFlush: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := &engineOn{st: st, eng: eng}
	t.Cleanup(func() {
		_ = eng.Close(context.Background())
		_ = st.Close()
	})
	return o
}

// pipelineOf is a one-step pipeline whose step plays sc on the fake.
func pipelineOf(t *testing.T, sc fakeScript) string {
	t.Helper()
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	script, _ := json.Marshal(string(b))
	return `name: p
steps:
  - name: container
    image: bats.azurecr.io/step:1
    command: ["pwsh", "-File", "run.ps1"]
    env: {` + fakeScriptEnv + `: ` + string(script) + `}
`
}

func (o *engineOn) run(t *testing.T, spec string) *api.Run {
	t.Helper()
	ctx := testContext(t)
	if _, _, err := o.eng.Apply(ctx, "p.yaml", []byte(spec)); err != nil {
		t.Fatal(err)
	}
	run, err := o.eng.Submit(ctx, &engine.SubmitParams{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	d, err := api.RunDetail(ctx, o.eng, o.st, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEngineCountsFailedDeletions: a deletion that fails twice is tried
// again until it succeeds; every failed try is counted in the metric and
// the attempt shows the tries, its container group and its log, kept
// after the group is gone.
func TestEngineCountsFailedDeletions(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	f.failDeletes = 2
	o := newEngineOn(t, filepath.Join(t.TempDir(), "baton.db"), newFakeExecutor(t, f))
	r := o.run(t, pipelineOf(t, fakeScript{Logs: []string{"initjob done", "stage2 next"}}))
	if r.Status != store.RunSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	a := r.Steps[0].Attempts[0]
	if !a.Removed || a.CleanupTries != 3 || a.CleanupError != "" {
		t.Errorf("attempt removed %v after %d tries (%q); want removed after 3", a.Removed, a.CleanupTries, a.CleanupError)
	}
	if !strings.HasPrefix(a.Handle, testRG+"/baton-") || a.Executor != "aci" {
		t.Errorf("attempt on %q, handle %q; want the container group on aci", a.Executor, a.Handle)
	}
	f.mu.Lock()
	left, deletes := len(f.groups), f.deletes
	f.mu.Unlock()
	if left != 0 || deletes != 3 {
		t.Errorf("%d groups left after %d deletions; want none after 3", left, deletes)
	}
	rows, err := o.st.LogList(testContext(t), &store.LogListParams{RunID: r.ID, Step: "container"})
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	for _, l := range rows {
		logged = append(logged, l.Text)
	}
	if strings.Join(logged, "|") != "initjob done|stage2 next" {
		t.Errorf("archived log %q, want the step's lines", logged)
	}
	rec := httptest.NewRecorder()
	o.eng.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `baton_cleanup_failures_total{executor="aci"} 2`) {
		t.Errorf("metrics do not count the 2 failed deletions:\n%s", grep(rec.Body.String(), "cleanup"))
	}
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestEngineFailedExitCode: the step's exit code fails the run, as on
// every executor.
func TestEngineFailedExitCode(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	o := newEngineOn(t, filepath.Join(t.TempDir(), "baton.db"), newFakeExecutor(t, f))
	r := o.run(t, pipelineOf(t, fakeScript{ExitCode: 3}))
	if r.Status != store.RunFailed || r.Steps[0].ExitCode == nil || *r.Steps[0].ExitCode != 3 {
		t.Fatalf("run %s (%s), step exit %v; want failed with exit 3", r.Status, r.Error, r.Steps[0].ExitCode)
	}
}

// TestEngineReattachesAndRemovesOrphans: a baton restarted while a step
// runs re-attaches to its container group through the stored handle and
// sees it to its end; groups of this installation that no run owns are
// removed, another installation's are left alone.
func TestEngineReattachesAndRemovesOrphans(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	dbFile := filepath.Join(t.TempDir(), "baton.db")
	first := newEngineOn(t, dbFile, newFakeExecutor(t, f))
	ctx := testContext(t)
	if _, _, err := first.eng.Apply(ctx, "p.yaml", []byte(pipelineOf(t, fakeScript{RunFor: 2 * time.Second, Logs: []string{"working"}}))); err != nil {
		t.Fatal(err)
	}
	run, err := first.eng.Submit(ctx, &engine.SubmitParams{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the attempt runs", func() bool {
		a, err := first.st.AttemptGet(ctx, run.ID, "container", 1)
		return err == nil && len(a.Handle) > 0
	})
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := first.eng.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	_ = first.st.Close()

	// While baton was down: a group of this installation's that no run
	// owns, and one of another installation's.
	mine := newFakeExecutor(t, f)
	orphan, err := mine.Start(ctx, testSpec(t, "orphan", fakeScript{}))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := newFakeExecutor(t, f, func(o *Options) { o.Instance = "another-baton" }).Start(ctx, testSpec(t, "theirs", fakeScript{}))
	if err != nil {
		t.Fatal(err)
	}

	second := newEngineOn(t, dbFile, newFakeExecutor(t, f))
	if err := second.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := second.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	d, err := api.RunDetail(ctx, second.eng, second.st, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != store.RunSucceeded || len(d.Steps[0].Attempts) != 1 || !d.Steps[0].Attempts[0].Removed {
		t.Fatalf("run after the restart: %s (%s), attempts %+v; want its one attempt seen to its end and removed", d.Status, d.Error, d.Steps[0].Attempts)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[strings.TrimPrefix(orphan.ID, testRG+"/")]; ok {
		t.Error("the orphan group of this installation is still there")
	}
	if _, ok := f.groups[strings.TrimPrefix(theirs.ID, testRG+"/")]; !ok {
		t.Error("another installation's group was removed")
	}
}
