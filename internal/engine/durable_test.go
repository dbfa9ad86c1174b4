package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/metrics"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// scrape reads the metrics as Prometheus would and returns the samples
// whose line starts with prefix, summed.
func scrape(t *testing.T, m *metrics.Metrics, prefix string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var sum float64
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// wantConsistent checks that an ended run is recorded whole: every step
// ended, no attempt running, each ended attempt with its end time.
func wantConsistent(t *testing.T, st store.Store, runID string) {
	t.Helper()
	ctx := context.Background()
	run, err := st.RunGet(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Status.Terminal() {
		t.Fatalf("run is %s, want ended", run.Status)
	}
	steps, err := st.StepList(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if !s.Status.Terminal() {
			t.Errorf("run ended %s with step %s %s", run.Status, s.Name, s.Status)
		}
	}
	attempts, err := st.AttemptList(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attempts {
		if a.Status == store.StepRunning || a.FinishedAt.IsZero() {
			t.Errorf("run ended %s with attempt %d of %s %s (finished %v)", run.Status, a.Attempt, a.Step, a.Status, a.FinishedAt)
		}
	}
}

// TestFullDatabaseDelaysRunLosesNothing fills the database while a step
// prints, as a full disk would: the engine's writes fail, are retried and
// counted, and once there is room again the run ends, recorded whole, with
// every line the step printed.
func TestFullDatabaseDelaysRunLosesNothing(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := metrics.New()
	eng, err := engine.New(engine.Config{
		Store: st, Executor: process.New(process.Options{Dir: filepath.Join(dir, "process")}),
		Metrics: m, LogFlush: 20 * time.Millisecond, StopGrace: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	goFile := filepath.Join(dir, "go")
	ctx := context.Background()
	if _, _, err := eng.Apply(ctx, "full.yaml", []byte(`
name: full
steps:
  - name: noisy
    command: ["`+bb+`", "sh", "-c", "until [ -e `+goFile+` ]; do `+bb+` sleep 0.02; done; `+bb+` seq 1 20000; echo last"]
  - name: next
    needs: [noisy]
    command: ["`+bb+`", "echo", "done"]
`)); err != nil {
		t.Fatal(err)
	}
	run, err := eng.Submit(ctx, &engine.SubmitParams{Pipeline: "full"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := st.AttemptGet(ctx, run.ID, "noisy", 1)
		return err == nil && len(a.Handle) > 0
	})
	if err := st.LimitSize(ctx, 1); err != nil { // no room to grow
		t.Fatal(err)
	}
	if _, err := os.Create(goFile); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return scrape(t, m, "baton_store_write_failures_total") >= 3 })
	if r, _ := st.RunGet(ctx, run.ID); r.Status.Terminal() {
		t.Fatalf("run ended %s while nothing could be written", r.Status)
	}
	if err := st.LimitSize(ctx, 0); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ended, err := eng.Wait(wctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ended.Status != store.RunSucceeded {
		t.Fatalf("run ended %s (%q), want succeeded", ended.Status, ended.Error)
	}
	wantConsistent(t, st, run.ID)
	rows := allLogs(t, st, run.ID, "noisy")
	if len(rows) != 20001 || rows[0].Text != "1" || rows[19999].Text != "20000" || rows[20000].Text != "last" {
		t.Fatalf("stored %d lines, want the 20001 printed", len(rows))
	}
}

// failingStore fails the first fails calls of each write the engine makes
// while a run goes on, as a store on a disk that fills and frees does. It
// wraps a real SQLite store and fails before calling it, so a failed call
// changed nothing, as the store promises.
type failingStore struct {
	store.Store
	fails int

	mu    sync.Mutex
	calls map[string]int
}

func (f *failingStore) fail(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if f.calls[op] <= f.fails {
		return fmt.Errorf("injected: disk full: %w", store.ErrUnavailable)
	}
	return nil
}

func (f *failingStore) RunSetStatus(ctx context.Context, p *store.RunSetStatusParams) error {
	if err := f.fail("run_set_status"); err != nil {
		return err
	}
	return f.Store.RunSetStatus(ctx, p)
}

func (f *failingStore) StepStart(ctx context.Context, p *store.StepStartParams) error {
	if err := f.fail("step_start"); err != nil {
		return err
	}
	return f.Store.StepStart(ctx, p)
}

func (f *failingStore) StepFinish(ctx context.Context, p *store.StepFinishParams) error {
	if err := f.fail("step_finish"); err != nil {
		return err
	}
	return f.Store.StepFinish(ctx, p)
}

func (f *failingStore) StepSetCleanup(ctx context.Context, p *store.StepSetCleanupParams) error {
	if err := f.fail("step_set_cleanup"); err != nil {
		return err
	}
	return f.Store.StepSetCleanup(ctx, p)
}

func (f *failingStore) LogAppend(ctx context.Context, p *store.LogAppendParams) error {
	if err := f.fail("log_append"); err != nil {
		return err
	}
	return f.Store.LogAppend(ctx, p)
}

// TestEveryRunWriteRetried fails each kind of write the engine makes for a
// run a few times: a retried step, a failing step and a skipped one still
// end as they would have, recorded whole, and each failure is counted.
func TestEveryRunWriteRetried(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	real, err := sqlite.Open(context.Background(), filepath.Join(dir, "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	st := &failingStore{Store: real, fails: 2, calls: make(map[string]int)}
	m := metrics.New()
	eng, err := engine.New(engine.Config{
		Store: st, Executor: process.New(process.Options{Dir: filepath.Join(dir, "process")}),
		Metrics: m, LogFlush: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	ctx := context.Background()
	flag := filepath.Join(dir, "second-try")
	if _, _, err := eng.Apply(ctx, "p.yaml", []byte(`
name: p
steps:
  - name: flaky
    command: ["`+bb+`", "sh", "-c", "if [ -e `+flag+` ]; then echo fine; else : > `+flag+`; echo first; exit 1; fi"]
    retry: {limit: 1, backoff: 10ms}
  - name: breaks
    needs: [flaky]
    command: ["`+bb+`", "sh", "-c", "echo broken; exit 4"]
  - name: skipped
    needs: [breaks]
    command: ["`+bb+`", "true"]
`)); err != nil {
		t.Fatal(err)
	}
	run, err := eng.Submit(ctx, &engine.SubmitParams{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ended, err := eng.Wait(wctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ended.Status != store.RunFailed || !strings.Contains(ended.Error, `step "breaks": exited with code 4`) {
		t.Fatalf("run ended %s (%q), want failed by breaks", ended.Status, ended.Error)
	}
	wantConsistent(t, real, run.ID)
	steps, err := real.StepList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"flaky": "succeeded/2", "breaks": "failed/1", "skipped": "skipped/0"}
	for _, s := range steps {
		if got := fmt.Sprintf("%s/%d", s.Status, s.Attempts); got != want[s.Name] {
			t.Errorf("step %s: %s, want %s", s.Name, got, want[s.Name])
		}
	}
	for _, step := range []string{"flaky", "breaks"} {
		if !strings.Contains(logText(t, real, run.ID, step), map[string]string{"flaky": "fine", "breaks": "broken"}[step]) {
			t.Errorf("logs of %s lost: %q", step, logText(t, real, run.ID, step))
		}
	}
	for _, op := range []string{"run_set_status", "step_start", "step_finish", "step_set_cleanup", "log_append"} {
		if got := scrape(t, m, `baton_store_write_failures_total{op="`+op+`"}`); got != 2 {
			t.Errorf("failures of %s counted %v times, want 2", op, got)
		}
	}
}

func logText(t *testing.T, st store.Store, runID, step string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range allLogs(t, st, runID, step) {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

// TestResumeEndsRunWithEveryStepEnded: a run whose steps all ended but whose
// own end never reached the store (the disk filled, baton died) is ended by
// the next start, with the status its steps give it.
func TestResumeEndsRunWithEveryStepEnded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "baton.db")
	exec := process.New(process.Options{Dir: filepath.Join(dir, "process")})
	first := startLife(t, dbFile, exec)
	ctx := context.Background()
	if _, _, err := first.eng.Apply(ctx, "z.yaml", []byte(`
name: zombie
steps:
  - name: a
    command: ["true"]
  - name: b
    needs: [a]
    command: ["true"]
`)); err != nil {
		t.Fatal(err)
	}
	first.end()
	// As the store was left: the run running, every step ended.
	st, err := sqlite.Open(ctx, dbFile, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := st.RunCreate(ctx, &store.RunCreateParams{ID: "zombie-1", Pipeline: "zombie", Revision: 1,
		Executor: "process", Steps: []string{"a", "b"}, Now: now}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "zombie-1", Status: store.RunRunning, Now: now}))
	must(st.StepStart(ctx, &store.StepStartParams{RunID: "zombie-1", Name: "a", Attempt: 1, Now: now}))
	code := 2
	must(st.StepFinish(ctx, &store.StepFinishParams{RunID: "zombie-1", Name: "a", Attempt: 1, Status: store.StepFailed,
		ExitCode: &code, Error: "exited with code 2", Now: now}))
	must(st.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "zombie-1", Name: "a", Attempt: 1, Removed: true, Tries: 1}))
	must(st.StepFinish(ctx, &store.StepFinishParams{RunID: "zombie-1", Name: "b", Status: store.StepSkipped,
		Error: `step "a" did not succeed`, Now: now}))
	must(st.Close())

	second := startLife(t, dbFile, exec)
	if err := second.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	run := second.waitEnd(t, "zombie-1")
	if run.Status != store.RunFailed || !strings.Contains(run.Error, `step "a": exited with code 2`) {
		t.Fatalf("run ended %s (%q), want failed by step a", run.Status, run.Error)
	}
	wantConsistent(t, second.st, "zombie-1")
	if a, err := second.st.AttemptGet(ctx, "zombie-1", "a", 1); err != nil || a.Status != store.StepFailed {
		t.Fatalf("attempt 1 of a: %+v, %v; want it left as it ended", a, err)
	}
}

// TestCloseDuringFullDisk: an engine whose writes keep failing still stops
// when asked, and leaves the run for the next life, which ends it.
func TestCloseDuringFullDisk(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "baton.db")
	exec := process.New(process.Options{Dir: filepath.Join(dir, "process")})
	first := startLife(t, dbFile, exec)
	goFile := filepath.Join(dir, "go")
	runID := first.submit(t, `
name: stuck
steps:
  - name: print
    command: ["`+bb+`", "sh", "-c", "until [ -e `+goFile+` ]; do `+bb+` sleep 0.02; done; `+bb+` seq 1 5000"]
`)
	waitFor(t, func() bool {
		a, err := first.st.AttemptGet(context.Background(), runID, "print", 1)
		return err == nil && len(a.Handle) > 0
	})
	if err := first.st.LimitSize(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Create(goFile); err != nil {
		t.Fatal(err)
	}
	// The step ends; its lines and its end cannot be stored.
	waitFor(t, func() bool {
		_, err := os.Stat(filepath.Join(dir, "process"))
		return err == nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := first.eng.Close(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Close while writes fail: %v", err)
	}
	first.end()

	second := startLife(t, dbFile, exec)
	if err := second.eng.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := second.waitEnd(t, runID)
	wantConsistent(t, second.st, runID)
	if run.Status != store.RunSucceeded {
		t.Fatalf("run ended %s (%q), want succeeded", run.Status, run.Error)
	}
	if rows := allLogs(t, second.st, runID, "print"); len(rows) != 5000 {
		t.Fatalf("%d lines stored, want 5000", len(rows))
	}
}
