package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// leasePipeline is three container steps that hand a variable on; the
// first runs long enough for a server to die under it.
func leasePipeline(image string) string {
	return `
name: relay
steps:
  - name: first
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "sleep 2; echo n=1 >> $BATON_OUTPUT"]
  - name: second
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo n=$((BATON_VAR_n + 1)) >> $BATON_OUTPUT"]
  - name: third
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo n=$((BATON_VAR_n + 1)) >> $BATON_OUTPUT; echo third saw $BATON_VAR_n"]
`
}

// secondServer is another server on h's store and executor.
func secondServer(t *testing.T, h *harness, configure func(*engine.Config)) *engine.Engine {
	t.Helper()
	cfg := engine.Config{Store: h.st, Executor: h.exec, StopGrace: 2 * time.Second, LogFlush: 20 * time.Millisecond, Shared: true, Lease: time.Second}
	if configure != nil {
		configure(&cfg)
	}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// checkRelayed fails t unless the run succeeded with each step run once
// and its output applied once, and nothing of it is left in Docker.
func checkRelayed(t *testing.T, h *harness, run *store.RunRow) {
	t.Helper()
	if run.Status != store.RunSucceeded {
		t.Fatalf("run after takeover: %s (%s)", run.Status, run.Error)
	}
	steps, err := h.st.StepList(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if s.Attempts != 1 || s.Outputs["n"] != string(rune('1'+i)) {
			t.Errorf("step %s: %d attempts, outputs %q; want one attempt with n=%d", s.Name, s.Attempts, s.Outputs, i+1)
		}
	}
}

// TestTakeoverAfterServerDies: a server dies (stops renewing, writes
// nothing more) with a container running; another on the same store
// claims the run once the lease ends, re-attaches to the container through
// its stored handle and finishes the run, every output applied once.
func TestTakeoverAfterServerDies(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t, func(c *engine.Config) { c.Shared, c.Lease = true, time.Second })
	name := h.apply(leasePipeline(image))
	ctx := context.Background()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	if run.Lease.Owner != h.eng.ServerID() || run.Lease.Epoch != 1 {
		t.Fatalf("submitted run's lease: %+v, want held by its server at epoch 1", run.Lease)
	}
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, run.ID, "first", 1)
		return err == nil && len(a.Handle) > 0
	})
	b := secondServer(t, h, nil)
	if err := b.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if engine.Drives(b, run.ID) {
		t.Fatal("the second server took the run while its server was alive")
	}
	engine.Crash(h.eng)

	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	got, err := b.Wait(waitCtx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkRelayed(t, h, got)
	if got.Lease.Owner != b.ServerID() || got.Lease.Epoch != 2 {
		t.Errorf("lease after takeover: %+v, want the second server's at epoch 2", got.Lease)
	}
	if left := leftovers(t, d, run.ID); len(left) != 0 {
		t.Errorf("containers left after takeover: %v", left)
	}
}

// TestFencedServerStops: a server that lost its run without knowing it (a
// pause past its lease: here another server's clock runs ahead) has its
// next write refused; it stops driving the run, touches nothing, and the
// new owner finishes it, every step once.
func TestFencedServerStops(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t, func(c *engine.Config) { c.Shared, c.Lease = true, time.Hour })
	name := h.apply(leasePipeline(image))
	ctx := context.Background()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, run.ID, "first", 1)
		return err == nil && len(a.Handle) > 0
	})
	b := secondServer(t, h, func(c *engine.Config) {
		c.Lease = time.Hour
		c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	})
	if err := b.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if !engine.Drives(b, run.ID) {
		t.Fatal("the second server did not claim a run whose lease ended by its clock")
	}
	waitFor(t, func() bool { return !engine.Drives(h.eng, run.ID) })

	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	got, err := b.Wait(waitCtx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkRelayed(t, h, got)
	if left := leftovers(t, d, run.ID); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestCancelReachesOwner: a cancel asked of a server that does not drive
// the run is stored and reaches the owner (at its next renewal, without
// signals), which stops what runs.
func TestCancelReachesOwner(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t, func(c *engine.Config) { c.Shared, c.Lease = true, time.Second })
	name := h.apply(leasePipeline(image))
	ctx := context.Background()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, run.ID, "first", 1)
		return err == nil && len(a.Handle) > 0
	})
	b := secondServer(t, h, nil)
	if err := b.Cancel(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if engine.Drives(b, run.ID) {
		t.Fatal("the server asked to cancel took the run from its live owner")
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	got, err := h.eng.Wait(waitCtx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunCanceled {
		t.Errorf("run after a cancel through another server: %s (%s)", got.Status, got.Error)
	}
	if left := leftovers(t, d, run.ID); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}
