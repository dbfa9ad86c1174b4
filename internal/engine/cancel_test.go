package engine_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// life is one life of the engine on a SQLite file that outlives it.
type life struct {
	st  *sqlite.Store
	eng *engine.Engine
}

// startLife opens the database and starts an engine on it; the engine is
// closed, without finishing its runs, and the database with it, when the
// test ends or by end.
func startLife(t *testing.T, dbFile string, exec executor.Executor, configure ...func(*engine.Config)) *life {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dbFile, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.Config{Store: st, Executor: exec, StopGrace: 2 * time.Second, LogFlush: 20 * time.Millisecond}
	for _, c := range configure {
		c(&cfg)
	}
	eng, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &life{st: st, eng: eng}
	t.Cleanup(l.end)
	return l
}

// end closes the engine as a stop does, leaving what runs running, then
// the database.
func (l *life) end() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = l.eng.Close(ctx)
	_ = l.st.Close()
}

func (l *life) submit(t *testing.T, spec string) string {
	t.Helper()
	ctx := context.Background()
	row, _, err := l.eng.Apply(ctx, "test.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	run, err := l.eng.Submit(ctx, &engine.SubmitParams{Pipeline: row.Name})
	if err != nil {
		t.Fatal(err)
	}
	return run.ID
}

func (l *life) step(t *testing.T, runID, name string) *store.StepRow {
	t.Helper()
	steps, err := l.st.StepList(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("run %s has no step %q", runID, name)
	return nil
}

// waitEnd waits for the run to end, at most a minute.
func (l *life) waitEnd(t *testing.T, runID string) *store.RunRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := l.eng.Wait(ctx, runID)
	if err != nil {
		t.Fatalf("wait for run %s: %v", runID, err)
	}
	return run
}

// wantCanceledOnce checks that the run ended canceled and that step made
// exactly one attempt, which ended canceled and removed.
func wantCanceledOnce(t *testing.T, l *life, runID, step string) {
	t.Helper()
	run := l.waitEnd(t, runID)
	if run.Status != store.RunCanceled {
		t.Fatalf("run ended %s (%q), want canceled", run.Status, run.Error)
	}
	attempts, err := l.st.AttemptList(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range attempts {
		if a.Step != step {
			t.Errorf("step %s made attempt %d (%s); only %s had started before the cancel", a.Step, a.Attempt, a.Status, step)
			continue
		}
		n++
		if a.Status != store.StepCanceled {
			t.Errorf("attempt %d of %s ended %s (%q), want canceled", a.Attempt, step, a.Status, a.Error)
		}
		if !a.Removed {
			t.Errorf("attempt %d of %s not removed (%q)", a.Attempt, step, a.CleanupError)
		}
	}
	if n != 1 {
		t.Fatalf("step %s made %d attempts, want 1: a canceled run starts none", step, n)
	}
	steps, err := l.st.StepList(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Status != store.StepCanceled {
			t.Errorf("step %s ended %s (%q), want canceled", s.Name, s.Status, s.Error)
		}
	}
}

// TestCancelStoredSurvivesCrash: a cancel was recorded (and answered) but the
// server died before acting on it. The next life cancels the run: the
// running attempt is stopped, no attempt is started, however many retries
// the step has left.
func TestCancelStoredSurvivesCrash(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "baton.db")
	// One executor for both lives: it re-attaches to what the first started.
	exec := process.New(process.Options{Dir: filepath.Join(dir, "process")})
	first := startLife(t, dbFile, exec)
	runID := first.submit(t, `
name: cancel-crash
steps:
  - name: long
    command: ["`+bb+`", "sh", "-c", "echo started; exec `+bb+` sleep 120"]
    retry: {limit: 3}
  - name: after
    needs: [long]
    command: ["`+bb+`", "true"]
`)
	waitFor(t, func() bool {
		a, err := first.st.AttemptGet(context.Background(), runID, "long", 1)
		return err == nil && len(a.Handle) > 0
	})
	// What Cancel stores before it answers; then the server dies.
	if _, err := first.st.RunRequestCancel(context.Background(), &store.RunRequestCancelParams{ID: runID, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if s := first.step(t, runID, "long"); s.Status != store.StepRunning {
		t.Fatalf("at the crash, long is %s; the test needs it running", s.Status)
	}
	first.end()

	second := startLife(t, dbFile, exec)
	if err := second.eng.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantCanceledOnce(t, second, runID, "long")
}

// TestCancelStoredDuringRetryWait: canceled while the step waited for its
// next attempt, and the server died before acting on it; the next life
// starts no attempt.
func TestCancelStoredDuringRetryWait(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "baton.db")
	exec := process.New(process.Options{Dir: filepath.Join(dir, "process")})
	first := startLife(t, dbFile, exec)
	runID := first.submit(t, `
name: cancel-retry
steps:
  - name: flaky
    command: ["`+bb+`", "sh", "-c", "exit 3"]
    retry: {limit: 5, backoff: 1h}
`)
	waitFor(t, func() bool { return first.step(t, runID, "flaky").Status == store.StepRetrying })
	if _, err := first.st.RunRequestCancel(context.Background(), &store.RunRequestCancelParams{ID: runID, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	first.end()

	second := startLife(t, dbFile, exec)
	if err := second.eng.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := second.waitEnd(t, runID)
	if run.Status != store.RunCanceled {
		t.Fatalf("run ended %s (%q), want canceled", run.Status, run.Error)
	}
	if s := second.step(t, runID, "flaky"); s.Status != store.StepCanceled || s.Attempts != 1 {
		t.Fatalf("flaky: %s after %d attempts, want canceled after 1", s.Status, s.Attempts)
	}
}

// TestCancelRunNobodyDrives: a run left running by an earlier life, before
// this one resumed it, is canceled for real: its attempt is stopped, not
// only marked.
func TestCancelRunNobodyDrives(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "baton.db")
	exec := process.New(process.Options{Dir: filepath.Join(dir, "process")})
	first := startLife(t, dbFile, exec)
	runID := first.submit(t, `
name: cancel-undriven
steps:
  - name: long
    command: ["`+bb+`", "sleep", "120"]
`)
	waitFor(t, func() bool {
		a, err := first.st.AttemptGet(context.Background(), runID, "long", 1)
		return err == nil && len(a.Handle) > 0
	})
	first.end()

	second := startLife(t, dbFile, exec)
	if err := second.eng.Cancel(context.Background(), runID); err != nil {
		t.Fatal(err)
	}
	wantCanceledOnce(t, second, runID, "long")
	if run, _ := second.st.RunGet(context.Background(), runID); run.CancelRequestedAt.IsZero() {
		t.Error("the cancel request was not recorded")
	}
}
