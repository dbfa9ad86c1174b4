package engine_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// silentRegistry listens on loopback, accepts every connection and never
// answers: an image registry that hangs. It returns its host:port and how
// many connections it accepted so far.
func silentRegistry(t *testing.T) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or written
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	accepted := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
	return ln.Addr().String(), accepted
}

// TestStepTimeoutAppliesWhileStarting runs a step whose image pull hangs:
// its timeout ends the attempt while it is starting, and a cancel during
// such a pull ends the run canceled. Nothing is left behind either way.
func TestStepTimeoutAppliesWhileStarting(t *testing.T) {
	t.Parallel()
	h, d, _ := newDockerHarness(t)
	registry, _ := silentRegistry(t)
	image := registry + "/baton-test/hangs:1"
	name := h.apply(`
name: pullhang
steps:
  - name: only
    image: ` + image + `
    pull: always
    timeout: 5s
    command: ["true"]
`)
	ctx := context.Background()
	t.Run("timeout", func(t *testing.T) {
		run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
		if err != nil {
			t.Fatal(err)
		}
		// Generous: only so a broken engine fails instead of hanging.
		waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		if _, err := h.eng.Wait(waitCtx, run.ID); err != nil {
			t.Fatalf("run still not ended: %v", err)
		}
		r := h.detail(run.ID)
		wantStatus(t, r, store.RunFailed)
		s := stepByName(t, r, "only")
		if s.Status != store.StepFailed || !strings.Contains(s.Error, "timed out after 5s while starting") {
			t.Errorf("step %s (%q), want failed: timed out after 5s while starting", s.Status, s.Error)
		}
		if left := leftovers(t, d, run.ID); len(left) != 0 {
			t.Errorf("containers left: %v", left)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		// A registry of its own, so that what the first pull left behind
		// cannot count as this one's.
		registry, accepted := silentRegistry(t)
		image := registry + "/baton-test/hangs:1"
		slow := h.apply(strings.Replace(strings.Replace(`
name: pullhang
steps:
  - name: only
    image: IMAGE
    pull: always
    command: ["true"]
`, "IMAGE", image, 1), "pullhang", "pullcancel", 1))
		run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: slow})
		if err != nil {
			t.Fatal(err)
		}
		// Cancel once the pull is under way: the engine has reached the
		// registry.
		waitFor(t, func() bool { return accepted() > 0 })
		if err := h.eng.Cancel(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		if _, err := h.eng.Wait(waitCtx, run.ID); err != nil {
			t.Fatalf("run still not ended after cancel: %v", err)
		}
		r := h.detail(run.ID)
		wantStatus(t, r, store.RunCanceled)
		if s := stepByName(t, r, "only"); s.Status != store.StepCanceled {
			t.Errorf("step %s (%q), want canceled", s.Status, s.Error)
		}
		if left := leftovers(t, d, run.ID); len(left) != 0 {
			t.Errorf("containers left: %v", left)
		}
	})
}
