package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/metrics"
	"github.com/baton-dev/baton/internal/store"
)

// removeFailsOnce is the process executor with a first removal that fails,
// as a busy engine's can.
type removeFailsOnce struct {
	*process.Executor
	failed atomic.Bool
}

func (e *removeFailsOnce) Remove(ctx context.Context, h *executor.Handle) error {
	if e.failed.CompareAndSwap(false, true) {
		return errors.New("injected: removal refused")
	}
	return e.Executor.Remove(ctx, h)
}

// TestMetricsObserved runs pipelines and scrapes what operators watch:
// attempts and their durations by pipeline and status, runs that failed
// after retries, queue depths while runs and steps wait, cleanup failures
// by executor.
func TestMetricsObserved(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	m := metrics.New()
	exec := &removeFailsOnce{Executor: process.New(process.Options{Dir: filepath.Join(dir, "process")})}
	h := newHarness(t, exec, "", "", func(c *engine.Config) { c.Metrics = m; c.MaxParallel = 1 })
	ctx := context.Background()

	flaky := h.apply(`
name: flaky
steps:
  - name: ok
    command: ["` + bb + `", "true"]
  - name: breaks
    command: ["` + bb + `", "sh", "-c", "exit 3"]
    retry: {limit: 1, backoff: 10ms}
`)
	r := h.run(flaky, nil)
	wantStatus(t, r, store.RunFailed)
	for _, c := range []struct {
		metric string
		want   float64
	}{
		{`baton_attempts_total{pipeline="flaky",status="succeeded"}`, 1},
		{`baton_attempts_total{pipeline="flaky",status="failed"}`, 2},
		{`baton_attempt_duration_seconds_count{pipeline="flaky",status="succeeded"}`, 1},
		{`baton_attempt_duration_seconds_count{pipeline="flaky",status="failed"}`, 2},
		{`baton_runs_failed_after_retries_total{pipeline="flaky"}`, 1},
		{`baton_runs_finished_total{pipeline="flaky",status="failed"}`, 1},
		{`baton_cleanup_failures_total{executor="process"}`, 1},
	} {
		if got := scrape(t, m, c.metric); got != c.want {
			t.Errorf("%s = %v, want %v", c.metric, got, c.want)
		}
	}
	if got := scrape(t, m, `baton_attempt_duration_seconds_sum{pipeline="flaky"`); got <= 0 {
		t.Errorf("attempt durations sum to %v, want more than 0", got)
	}

	// Queue depths: a run waits for its pipeline's place, a step for the
	// one parallel slot.
	gate := filepath.Join(dir, "open")
	waiting := h.apply(`
name: waiting
concurrency: 1
steps:
  - name: a
    command: ["` + bb + `", "sh", "-c", "while [ ! -e ` + gate + ` ]; do ` + bb + ` sleep 0.02; done"]
  - name: b
    needs: []
    command: ["` + bb + `", "sh", "-c", "while [ ! -e ` + gate + ` ]; do ` + bb + ` sleep 0.02; done"]
`)
	first, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: waiting})
	if err != nil {
		t.Fatal(err)
	}
	second, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: waiting})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return scrape(t, m, "baton_runs_queued ") == 1 && scrape(t, m, "baton_steps_waiting ") == 1
	})
	if _, err := writeFile(gate); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{first.ID, second.ID} {
		if _, err := h.eng.Wait(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if q, w := scrape(t, m, "baton_runs_queued "), scrape(t, m, "baton_steps_waiting "); q != 0 || w != 0 {
		t.Errorf("after the runs: %v runs queued, %v steps waiting; want 0 and 0", q, w)
	}
	if got := scrape(t, m, `baton_attempts_total{pipeline="waiting",status="succeeded"}`); got != 4 {
		t.Errorf(`baton_attempts_total{pipeline="waiting",status="succeeded"} = %v, want 4`, got)
	}
}
