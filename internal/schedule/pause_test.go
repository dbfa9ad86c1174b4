package schedule_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/schedule"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

const everySecond = `
name: ticking
schedules:
  - cron: "@every 1s"
    overlap: allow
steps:
  - name: only
    command: ["true"]
`

// openAt opens the SQLite file at path with an engine over it; close ends
// both, as a stopping server does.
func openAt(t *testing.T, path string) (eng *engine.Engine, st store.Store, closeAll func()) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err = engine.New(engine.Config{Store: st, Executor: noop.New()})
	if err != nil {
		t.Fatal(err)
	}
	done := false
	closeAll = func() {
		if !done {
			done = true
			_ = eng.Close(ctx)
			_ = st.Close()
		}
	}
	t.Cleanup(closeAll)
	return eng, st, closeAll
}

// waitTicks waits until the schedule has recorded a tick after since: the
// scheduler got to it, whatever it decided.
func waitTicks(t *testing.T, st store.Store, pipeline, key string, since time.Time) time.Time {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		last, err := st.ScheduleLastTick(context.Background(), pipeline, key)
		if err != nil {
			t.Fatal(err)
		}
		if last.After(since) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tick of %s %s after %s within 15s", pipeline, key, since)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPausedScheduleStaysPausedAcrossRestart pauses a schedule, lets it tick
// without a run, restarts on the same SQLite file and sees it still paused,
// then resumes it and sees it fire.
func TestPausedScheduleStaysPausedAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "baton.db")
	eng, st, closeAll := openAt(t, path)
	if _, _, err := eng.Apply(ctx, "p.yaml", []byte(everySecond)); err != nil {
		t.Fatal(err)
	}
	if err := st.SchedulePauseSet(ctx, &store.SchedulePauseSetParams{Pipeline: "ticking", Paused: true, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	// Two ticks come and go: recorded, and no run.
	first := waitTicks(t, st, "ticking", "@every 1s", time.Time{})
	waitTicks(t, st, "ticking", "@every 1s", first)
	s.Stop()
	if n := len(runs(t, st)); n != 0 {
		t.Fatalf("paused schedule started %d runs", n)
	}
	closeAll()

	// Restarted on the same file: still paused.
	eng, st, _ = openAt(t, path)
	s = schedule.New(eng, st, slog.New(slog.DiscardHandler))
	before, err := st.ScheduleLastTick(ctx, "ticking", "@every 1s")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	after := waitTicks(t, st, "ticking", "@every 1s", before)
	waitTicks(t, st, "ticking", "@every 1s", after)
	if n := len(runs(t, st)); n != 0 {
		t.Fatalf("paused schedule started %d runs after a restart", n)
	}

	// Resumed, without a reload: it fires from its next tick.
	if err := st.SchedulePauseSet(ctx, &store.SchedulePauseSetParams{Pipeline: "ticking", Paused: false, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitRuns(t, st, 1)
}

// TestResumeDoesNotCatchUpPausedTicks checks that ticks missed while
// paused are spent, not saved for the resume: a catchup: all schedule that
// was paused while baton was down fires nothing for them.
func TestResumeDoesNotCatchUpPausedTicks(t *testing.T) {
	t.Parallel()
	eng, st := setup(t, `
name: hourly
schedules:
  - cron: "@hourly"
    catchup: all
steps:
  - name: only
    command: ["true"]
`)
	ctx := context.Background()
	last := time.Now().Add(-5 * time.Hour).Truncate(time.Hour)
	if ok, err := st.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: "hourly", Key: "@hourly", Tick: last, Now: last}); err != nil || !ok {
		t.Fatalf("record tick: %v %v", ok, err)
	}
	if err := st.SchedulePauseSet(ctx, &store.SchedulePauseSetParams{Pipeline: "hourly", Paused: true, Now: last}); err != nil {
		t.Fatal(err)
	}
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	// The latest missed tick is the last full hour: wait for it.
	latest := time.Now().Truncate(time.Hour)
	waitTicks(t, st, "hourly", "@hourly", latest.Add(-time.Nanosecond))
	if n := len(runs(t, st)); n != 0 {
		t.Fatalf("paused catch-up started %d runs", n)
	}
	if err := st.SchedulePauseSet(ctx, &store.SchedulePauseSetParams{Pipeline: "hourly", Paused: false, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(runs(t, st)); n != 0 && time.Now().Truncate(time.Hour).Equal(latest) {
		t.Fatalf("resume caught up %d paused ticks", n)
	}
}
