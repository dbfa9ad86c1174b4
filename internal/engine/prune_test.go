package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// TestPruneDeletesEndedRunsOnly prunes after one run ended and while
// another runs: the ended one goes, with its logs; the running one stays.
func TestPruneDeletesEndedRunsOnly(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	gate := filepath.Join(t.TempDir(), "open")
	fast := h.apply(`
name: prune-fast
steps:
  - name: only
    command: ["` + bb + `", "echo", "hi"]
`)
	slow := h.apply(`
name: prune-slow
steps:
  - name: only
    command: ["` + bb + `", "sh", "-c", "while [ ! -e ` + gate + ` ]; do ` + bb + ` sleep 0.02; done"]
`)
	ended := h.run(fast, nil)
	wantStatus(t, ended, store.RunSucceeded)
	ctx := context.Background()
	going, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: slow})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return stepByName(t, h.detail(going.ID), "only").Status == store.StepRunning })

	n, err := h.eng.Prune(ctx, time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Prune: %d, %v; want 1 run deleted", n, err)
	}
	if _, err := h.st.RunGet(ctx, ended.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the ended run after pruning: %v, want not found", err)
	}
	if logs, err := h.st.LogList(ctx, &store.LogListParams{RunID: ended.ID, Step: "only"}); err != nil || len(logs) != 0 {
		t.Fatalf("its logs after pruning: %d lines, %v", len(logs), err)
	}
	if _, err := writeFile(gate); err != nil {
		t.Fatal(err)
	}
	if r, err := h.eng.Wait(ctx, going.ID); err != nil || r.Status != store.RunSucceeded {
		t.Fatalf("the running run after pruning: %+v, %v; want it to go on and succeed", r, err)
	}
}
