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

func TestScheduleFiresRunsWithItsParams(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := engine.New(engine.Config{Store: st, Executor: noop.New()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	sched := schedule.New(eng, st, slog.New(slog.DiscardHandler))
	defer sched.Stop()

	// Nothing applied: nothing fires.
	if err := sched.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, err = eng.Apply(ctx, "tick.yaml", []byte(`
name: tick
params:
  target: {required: true}
vars:
  target: "{{ .Params.target }}"
schedules:
  - cron: "@every 1s"
    params: {target: nightly}
steps:
  - name: only
    command: ["true"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		runs, err := st.RunList(ctx, &store.RunListParams{Pipeline: "tick"})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > 0 {
			if runs[0].Params["target"] != "nightly" || runs[0].Vars["target"] != "nightly" {
				t.Fatalf("scheduled run params = %v, vars = %v", runs[0].Params, runs[0].Vars)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no scheduled run in 15s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
