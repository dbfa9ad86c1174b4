package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
)

func TestRetryOnlyListedExitCodes(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: codes
steps:
  - name: fatal
    retry: {limit: 3, backoff: 1ms, exit_codes: [75]}
    command: ["` + bb + `", "sh", "-c", "exit 2"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	if n := len(stepByName(t, r, "fatal").Attempts); n != 1 {
		t.Errorf("exit 2 is not in exit_codes, yet the step had %d attempts", n)
	}

	counter := filepath.Join(t.TempDir(), "n")
	name = h.apply(`
name: transient
steps:
  - name: flaky
    retry: {limit: 3, backoff: 1ms, exit_codes: [75]}
    command: ["` + bb + `", "sh", "-c", "echo x >> ` + counter + `; [ $(wc -l < ` + counter + `) -ge 3 ] || exit 75"]
`)
	r = h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	if n := len(stepByName(t, r, "flaky").Attempts); n != 3 {
		t.Errorf("attempts = %d, want 3 (two retryable failures, then success)", n)
	}
}

func TestRunTimeout(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: bounded
timeout: 500ms
steps:
  - name: first
    command: ["` + bb + `", "sleep", "30"]
  - name: second
    command: ["` + bb + `", "true"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	if !strings.Contains(r.Error, "run timed out after 500ms") {
		t.Errorf("run error = %q, want it to say the run timed out", r.Error)
	}
	if s := stepByName(t, r, "first"); s.Status != store.StepFailed || !s.Attempts[0].Removed {
		t.Errorf("first = %+v, want failed and removed", s)
	}
	if s := stepByName(t, r, "second"); s.Status != store.StepCanceled {
		t.Errorf("second = %s, want canceled", s.Status)
	}
}

func TestConcurrencyQueuesRuns(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	gate := filepath.Join(t.TempDir(), "open")
	name := h.apply(`
name: one-at-a-time
concurrency: 1
steps:
  - name: wait
    command: ["` + bb + `", "sh", "-c", "while [ ! -e ` + gate + ` ]; do sleep 0.05; done"]
`)
	ctx := context.Background()
	first, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return stepByName(t, h.detail(first.ID), "wait").Status == store.StepRunning })
	second, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	third, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if s := h.detail(second.ID).Status; s != store.RunQueued {
		t.Fatalf("second run is %s while the first runs; want queued", s)
	}
	// A queued run can be canceled; it never starts.
	if err := h.eng.Cancel(ctx, third.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := writeFile(gate); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{first.ID, second.ID, third.ID} {
		if _, err := h.eng.Wait(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := h.detail(first.ID), h.detail(second.ID), h.detail(third.ID)
	wantStatus(t, a, store.RunSucceeded)
	wantStatus(t, b, store.RunSucceeded)
	wantStatus(t, c, store.RunCanceled)
	if b.StartedAt.Before(*a.FinishedAt) {
		t.Errorf("second run started at %s, before the first ended at %s", b.StartedAt, a.FinishedAt)
	}
	if n := len(stepByName(t, c, "wait").Attempts); n != 0 {
		t.Errorf("canceled queued run started %d attempts", n)
	}
}

func TestRerunFromStep(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	flag := filepath.Join(t.TempDir(), "fixed")
	name := h.apply(`
name: rerun
params:
  level: {default: "1"}
vars:
  level: "{{ .Params.level }}"
steps:
  - name: fetch
    command: ["` + bb + `", "sh", "-c", "echo fetched=$BATON_RUN_ID >> $BATON_OUTPUT"]
  - name: build
    command: ["` + bb + `", "sh", "-c", "[ -e ` + flag + ` ] && echo built=$BATON_VAR_fetched/$BATON_VAR_level >> $BATON_OUTPUT"]
  - name: ship
    command: ["` + bb + `", "true"]
`)
	first := h.run(name, nil)
	wantStatus(t, first, store.RunFailed)
	ctx := context.Background()

	if _, err := h.eng.Rerun(ctx, &engine.RerunParams{RunID: first.ID, From: "nope"}); !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), "fetch, build, ship") {
		t.Errorf("re-run from an unknown step: %v", err)
	}
	if _, err := writeFile(flag); err != nil {
		t.Fatal(err)
	}
	run, err := h.eng.Rerun(ctx, &engine.RerunParams{RunID: first.ID, From: "build", Params: map[string]string{"level": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	second := h.detail(run.ID)
	wantStatus(t, second, store.RunSucceeded)
	// fetch was kept: its output names the first run, and it never ran again.
	if got, want := second.Variables["built"], first.ID+"/2"; got != want {
		t.Errorf("built = %q, want %q (kept output of fetch, new param)", got, want)
	}
	if n := len(stepByName(t, second, "fetch").Attempts); n != 0 {
		t.Errorf("kept step ran %d attempts", n)
	}
	row, err := h.st.RunGet(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.RetryOf != first.ID {
		t.Errorf("retry_of = %q, want %q", row.RetryOf, first.ID)
	}
}

func TestMaxParallelBoundsAttempts(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newHarness(t, process.New(process.Options{Dir: t.TempDir()}), "", "", func(c *engine.Config) { c.MaxParallel = 1 })
	name := h.apply(`
name: wide
steps:
  - name: a
    command: ["` + bb + `", "sleep", "0.3"]
  - name: b
    needs: []
    command: ["` + bb + `", "sleep", "0.3"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	a, b := stepByName(t, r, "a").Attempts[0], stepByName(t, r, "b").Attempts[0]
	first, second := a, b
	if b.StartedAt.Before(*a.StartedAt) {
		first, second = b, a
	}
	if second.StartedAt.Before(*first.FinishedAt) {
		t.Errorf("with one slot, independent steps overlapped: %s–%s and %s–%s",
			first.StartedAt, first.FinishedAt, second.StartedAt, second.FinishedAt)
	}
}
