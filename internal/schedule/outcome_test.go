package schedule_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/schedule"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/testbin"
)

// waitOutcome waits until a tick of the schedule has outcome and returns
// it, with every tick listed then.
func waitOutcome(t *testing.T, st store.Store, pipeline, key string, outcome store.TickOutcome) (*store.ScheduleTickRow, []*store.ScheduleTickRow) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows, err := st.ScheduleTickList(context.Background(), &store.ScheduleTickListParams{Pipeline: pipeline, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Outcome == outcome {
				return r, rows
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tick of %s %s %s within 15s; ticks: %s", pipeline, key, outcome, describe(rows))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func describe(rows []*store.ScheduleTickRow) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.Tick.Format(time.RFC3339Nano) + " " + string(r.Outcome) + " " + r.RunID + " " + r.Error + "; ")
	}
	return b.String()
}

func reload(t *testing.T, s *schedule.Scheduler) {
	t.Helper()
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
}

func TestTickRecordsTheRunItFired(t *testing.T) {
	t.Parallel()
	eng, st := setup(t, everySecond)
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	reload(t, s)
	fired, _ := waitOutcome(t, st, "ticking", "@every 1s", store.TickFired)
	s.Stop()
	run, err := st.RunGet(context.Background(), fired.RunID)
	if err != nil || run.Pipeline != "ticking" {
		t.Fatalf("the fired tick's run %q: got %+v, %v", fired.RunID, run, err)
	}
	if fired.CatchUp || fired.Error != "" || fired.DecidedAt.Before(fired.ClaimedAt) {
		t.Fatalf("fired tick: got %+v", fired)
	}
}

func TestTickRecordsPause(t *testing.T) {
	t.Parallel()
	eng, st := setup(t, everySecond)
	ctx := context.Background()
	if err := st.SchedulePauseSet(ctx, &store.SchedulePauseSetParams{Pipeline: "ticking", Paused: true, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	reload(t, s)
	skipped, _ := waitOutcome(t, st, "ticking", "@every 1s", store.TickSkippedPaused)
	s.Stop()
	if skipped.RunID != "" || skipped.Error != "" || skipped.CatchUp {
		t.Fatalf("paused tick: got %+v", skipped)
	}
	if n := len(runs(t, st)); n != 0 {
		t.Fatalf("paused schedule started %d runs", n)
	}
}

func TestTickRecordsOverlapSkip(t *testing.T) {
	t.Parallel()
	bb := testbin.Busybox(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Store: st, Executor: process.New(process.Options{Dir: t.TempDir()})})
	if err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(t.TempDir(), "open")
	t.Cleanup(func() {
		_ = os.WriteFile(gate, nil, 0o644)
		_ = eng.Close(ctx)
		_ = st.Close()
	})
	if _, _, err := eng.Apply(ctx, "p.yaml", []byte(`
name: slow
schedules:
  - cron: "@every 1s"
    overlap: skip
steps:
  - name: wait
    command: ["`+bb+`", "sh", "-c", "while [ ! -e `+gate+` ]; do sleep 0.05; done"]
`)); err != nil {
		t.Fatal(err)
	}
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	reload(t, s)
	skipped, rows := waitOutcome(t, st, "slow", "@every 1s", store.TickSkippedOverlap)
	s.Stop()
	if skipped.RunID != "" || skipped.Error != "" {
		t.Fatalf("skipped tick: got %+v", skipped)
	}
	rs := runs(t, st)
	if len(rs) != 1 {
		t.Fatalf("overlap: skip started %d runs, want 1", len(rs))
	}
	// The tick before the skipped one started the run that is going.
	var fired *store.ScheduleTickRow
	for _, r := range rows {
		if r.Outcome == store.TickFired {
			fired = r
		}
	}
	if fired == nil || fired.RunID != rs[0].ID || !fired.Tick.Before(skipped.Tick) {
		t.Fatalf("ticks: %s; want a fired one with run %s before the skipped one", describe(rows), rs[0].ID)
	}
}

func TestTickRecordsCatchUp(t *testing.T) {
	t.Parallel()
	eng, st := setup(t, `
name: missed
schedules:
  - cron: "@hourly"
    catchup: last
steps:
  - name: only
    command: ["true"]
`)
	ctx := context.Background()
	last := time.Now().Add(-5 * time.Hour).Truncate(time.Hour)
	if ok, err := st.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: "missed", Key: "@hourly", Tick: last, Now: last}); err != nil || !ok {
		t.Fatalf("record tick: %v %v", ok, err)
	}
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	reload(t, s)
	fired, rows := waitOutcome(t, st, "missed", "@hourly", store.TickFired)
	s.Stop()
	rs := runs(t, st)
	if !fired.CatchUp || len(rs) != 1 || fired.RunID != rs[0].ID || !fired.Tick.After(last) {
		t.Fatalf("caught-up tick: got %+v with runs %d; ticks: %s", fired, len(rs), describe(rows))
	}
	// The tick recorded before stays as it was: no scheduler claimed it.
	if old := rows[len(rows)-1]; !old.Tick.Equal(last) || old.Outcome != store.TickUnknown {
		t.Fatalf("the tick recorded before: got %+v", old)
	}
}

// TestTickRecordsWhyItFailed: a revision stored by a server with an
// executor this one lacks cannot start a run; the tick says why.
func TestTickRecordsWhyItFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	other, err := engine.New(engine.Config{Store: st, Executors: map[string]executor.Executor{"gpu": noop.New()}, DefaultExecutor: "gpu"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Apply(ctx, "p.yaml", []byte(`
name: elsewhere
executor: gpu
schedules:
  - cron: "@every 1s"
steps:
  - name: only
    command: ["true"]
`)); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(ctx); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Store: st, Executor: noop.New()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(ctx) })
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	reload(t, s)
	failed, _ := waitOutcome(t, st, "elsewhere", "@every 1s", store.TickFailed)
	s.Stop()
	if failed.RunID != "" || !strings.Contains(failed.Error, `executor "gpu"`) {
		t.Fatalf("failed tick: got %+v", failed)
	}
	if n := len(runs(t, st)); n != 0 {
		t.Fatalf("%d runs started", n)
	}
}

// TestTickOfRunStoredButNotStarted: a tick whose run was stored while the
// engine was stopping fired that run, which the next engine drives: it is
// recorded as fired with the run, not as failed without it.
func TestTickOfRunStoredButNotStarted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng, st := setup(t, everySecond)
	if err := eng.Close(ctx); err != nil { // stopping: runs are stored, not started
		t.Fatal(err)
	}
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	reload(t, s)
	fired, rows := waitOutcome(t, st, "ticking", "@every 1s", store.TickFired)
	s.Stop()
	for _, r := range rows {
		if r.Outcome == store.TickFailed {
			t.Errorf("a tick recorded as failed: %s", describe(rows))
		}
	}
	run, err := st.RunGet(ctx, fired.RunID)
	if err != nil || run.Status != store.RunQueued {
		t.Fatalf("the fired tick's run %q: %+v, %v; want it stored, queued", fired.RunID, run, err)
	}
	next, err := engine.New(engine.Config{Store: st, Executor: noop.New()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = next.Close(ctx) })
	if err := next.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if got, err := next.Wait(wctx, fired.RunID); err != nil || got.Status != store.RunSucceeded {
		t.Fatalf("the next engine drove the run to %+v, %v", got, err)
	}
}
