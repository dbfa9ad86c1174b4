package schedule_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/schedule"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/testbin"
)

// setup returns an engine on the no-op executor and a real SQLite file, with
// one pipeline applied.
func setup(t *testing.T, spec string) (*engine.Engine, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Store: st, Executor: noop.New()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = eng.Close(ctx)
		_ = st.Close()
	})
	if _, _, err := eng.Apply(ctx, "p.yaml", []byte(spec)); err != nil {
		t.Fatal(err)
	}
	return eng, st
}

func runs(t *testing.T, st store.Store) []*store.RunRow {
	t.Helper()
	rs, err := st.RunList(context.Background(), &store.RunListParams{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func waitRuns(t *testing.T, st store.Store, n int) []*store.RunRow {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rs := runs(t, st)
		if len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs after 15s, want %d", len(rs), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestScheduleFiresRunsWithItsParams(t *testing.T) {
	t.Parallel()
	eng, st := setup(t, `
name: tick
params:
  target: {required: true}
vars:
  target: "{{ .Params.target }}"
schedules:
  - cron: "@every 1s"
    overlap: allow
    params: {target: nightly}
steps:
  - name: only
    command: ["true"]
`)
	// Two schedulers on one store, as after a reload racing a tick: each
	// tick still makes one run.
	a := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	b := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	for _, s := range []*schedule.Scheduler{a, b} {
		if err := s.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
	}
	rs := waitRuns(t, st, 2)
	a.Stop()
	b.Stop()
	for _, r := range rs {
		if r.Params["target"] != "nightly" || r.Vars["target"] != "nightly" {
			t.Fatalf("scheduled run params = %v, vars = %v", r.Params, r.Vars)
		}
	}
	// Runs a second apart: two schedulers did not double a tick.
	time.Sleep(200 * time.Millisecond)
	rs = runs(t, st)
	seen := map[int64]bool{}
	for _, r := range rs {
		sec := r.CreatedAt.Unix()
		if seen[sec] {
			t.Fatalf("two runs in the same second %d: a tick fired twice", sec)
		}
		seen[sec] = true
	}
}

func TestScheduleCatchesUpLastMissedTick(t *testing.T) {
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
	// baton last fired this schedule five hours ago, then was down.
	last := time.Now().Add(-5 * time.Hour).Truncate(time.Hour)
	if ok, err := st.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: "missed", Key: "@hourly", Tick: last, Now: last}); err != nil || !ok {
		t.Fatalf("record tick: %v %v", ok, err)
	}
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitRuns(t, st, 1)
	time.Sleep(300 * time.Millisecond)
	if n := len(runs(t, st)); n != 1 {
		t.Fatalf("catchup: last started %d runs for 4 missed ticks, want 1", n)
	}
	got, err := st.ScheduleLastTick(ctx, "missed", "@hourly")
	if err != nil {
		t.Fatal(err)
	}
	if !got.After(last) || got.After(time.Now()) {
		t.Errorf("last tick = %s, want the latest missed one, after %s", got, last)
	}
	// A reload does not fire the same missed tick again.
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(runs(t, st)); n != 1 {
		t.Fatalf("after reload: %d runs, want still 1", n)
	}
}

func TestOverlapSkipWhileARunIsGoing(t *testing.T) {
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
	_, _, err = eng.Apply(ctx, "p.yaml", []byte(`
name: slow
schedules:
  - cron: "@every 1s"
    overlap: skip
steps:
  - name: wait
    command: ["`+bb+`", "sh", "-c", "while [ ! -e `+gate+` ]; do sleep 0.05; done"]
`))
	if err != nil {
		t.Fatal(err)
	}
	s := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitRuns(t, st, 1)
	time.Sleep(2500 * time.Millisecond) // two more ticks come while it runs
	if n := len(runs(t, st)); n != 1 {
		t.Fatalf("overlap: skip started %d runs while the first was running, want 1", n)
	}
}
