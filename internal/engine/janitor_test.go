package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/metrics"
	"github.com/baton-dev/baton/internal/store"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// removeFailsN is the process executor with removals that fail n times
// before they work, as an engine that is down for a while does.
type removeFailsN struct {
	*process.Executor
	left atomic.Int64
}

func (e *removeFailsN) Remove(ctx context.Context, h *executor.Handle) error {
	if e.left.Add(-1) >= 0 {
		return errors.New("injected: the engine refuses removals")
	}
	return e.Executor.Remove(ctx, h)
}

// TestRemovalRetriedUntilItWorks: a removal that still fails when the
// attempt's own cleanup gives up (5 tries) is tried again, with backoff,
// until it succeeds, with every try on the attempt and every failure in the
// metric.
func TestRemovalRetriedUntilItWorks(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	m := metrics.New()
	const fails = 8
	exec := &removeFailsN{Executor: process.New(process.Options{Dir: filepath.Join(t.TempDir(), "process")})}
	exec.left.Store(fails)
	h := newHarness(t, exec, "", "", func(c *engine.Config) { c.Metrics = m; c.CleanupRetry = 20 * time.Millisecond })
	name := h.apply(`
name: stubborn
steps:
  - name: ok
    command: ["` + bb + `", "true"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	ctx := context.Background()
	var a *store.AttemptRow
	waitFor(t, func() bool {
		var err error
		a, err = h.st.AttemptGet(ctx, r.ID, "ok", 1)
		return err == nil && a.Removed
	})
	if a.CleanupTries != fails+1 || a.CleanupError != "" {
		t.Errorf("attempt after its removal worked: %d tries, error %q; want %d tries, no error", a.CleanupTries, a.CleanupError, fails+1)
	}
	if got := testutil.ToFloat64(m.CleanupFailures.WithLabelValues("process")); got != fails {
		t.Errorf("cleanup failures counted: %v, want %d", got, fails)
	}
	if _, err := h.eng.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several janitor passes
	if got := exec.left.Load(); got != -1 {
		t.Errorf("removals tried: %d, want %d: once removed, neither the janitor nor Reap tries again", fails-got, fails+1)
	}
}
