package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

func TestUnorderedStepsWritingOneNameFailTheDependent(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: diamond
steps:
  - name: left
    command: ["` + bb + `", "sh", "-c", "echo shared=left >> $BATON_OUTPUT"]
  - name: right
    needs: []
    command: ["` + bb + `", "sh", "-c", "echo shared=right >> $BATON_OUTPUT"]
  - name: join
    needs: [left, right]
    command: ["` + bb + `", "true"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	join := stepByName(t, r, "join")
	if join.Status != store.StepFailed || !strings.Contains(join.Error, `"left"`) || !strings.Contains(join.Error, `"right"`) || !strings.Contains(join.Error, `"shared"`) {
		t.Fatalf("join = %s %q, want failed naming both writers and the variable", join.Status, join.Error)
	}
	if len(join.Attempts) != 0 {
		t.Errorf("join started %d attempts; it should fail before starting", len(join.Attempts))
	}
}

func TestOrderedStepsOverwrite(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: overwrite
vars:
  v: from-vars
steps:
  - name: a
    command: ["` + bb + `", "sh", "-c", "echo v=from-a >> $BATON_OUTPUT"]
  - name: b
    command: ["` + bb + `", "sh", "-c", "echo seen=$BATON_VAR_v >> $BATON_OUTPUT; echo v=from-b >> $BATON_OUTPUT"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	if r.Variables["seen"] != "from-a" || r.Variables["v"] != "from-b" {
		t.Fatalf("variables = %v, want b to see a's value and the last writer to win", r.Variables)
	}
}

func TestOversizedOutputFailsTheStep(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: big
steps:
  - name: big
    command: ["` + bb + `", "sh", "-c", "printf 'huge=' >> $BATON_OUTPUT; head -c 300000 /dev/zero | tr '\\0' x >> $BATON_OUTPUT"]
  - name: next
    command: ["` + bb + `", "true"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	s := stepByName(t, r, "big")
	if s.Status != store.StepFailed || !strings.Contains(s.Error, "huge") {
		t.Fatalf("big = %s %q, want failed naming the variable", s.Status, s.Error)
	}
	if _, ok := r.Variables["huge"]; ok {
		t.Error("oversized output joined the run's variables")
	}
	if len(s.Attempts) != 1 {
		t.Errorf("attempts = %d; a bad output file is not worth a retry", len(s.Attempts))
	}
}

func TestCallbackFencing(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: fenced
steps:
  - name: waits
    command: ["` + bb + `", "sleep", "60"]
`)
	ctx := context.Background()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return stepByName(t, h.detail(run.ID), "waits").Status == store.StepRunning })
	err = h.eng.PostOutputs(ctx, run.ID, "waits", 1, "not-the-token", map[string]string{"x": "1"})
	if !errors.Is(err, engine.ErrUnauthorized) {
		t.Errorf("wrong token: error = %v, want ErrUnauthorized", err)
	}
	// An unknown attempt looks like a wrong token: nothing says which exist.
	err = h.eng.PostOutputs(ctx, run.ID, "waits", 2, "whatever", map[string]string{"x": "1"})
	if !errors.Is(err, engine.ErrUnauthorized) {
		t.Errorf("attempt that never started: error = %v, want ErrUnauthorized", err)
	}
	a, err := h.st.AttemptGet(ctx, run.ID, "waits", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Outputs) != 0 {
		t.Errorf("rejected posts changed outputs: %v", a.Outputs)
	}
}

func TestCallbackFromEndedAttemptIsStale(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	// The step leaves its own token in a file, so the test can replay it.
	tokenFile := filepath.Join(t.TempDir(), "token")
	name := h.apply(`
name: replay
steps:
  - name: leaks
    command: ["` + bb + `", "sh", "-c", "cat $BATON_TOKEN_FILE > ` + tokenFile + `"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	token, err := os.ReadFile(tokenFile)
	if err != nil || len(token) == 0 {
		t.Fatalf("token file: %v", err)
	}
	err = h.eng.PostOutputs(context.Background(), r.ID, "leaks", 1, string(token), map[string]string{"late": "1"})
	if !errors.Is(err, engine.ErrStale) {
		t.Fatalf("post after the attempt ended: error = %v, want ErrStale", err)
	}
	if _, ok := h.detail(r.ID).Variables["late"]; ok {
		t.Error("a stale post changed the run's variables")
	}
}
