package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
)

// TestConditions: a false if: skips its step with the reason, and the
// steps that need it run; a condition sees outputs of finished steps,
// params and other steps' statuses; one that is neither true nor false
// fails its step with what it gave.
func TestConditions(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: decide
params:
  env: {default: staging}
steps:
  - name: probe
    command: ["` + bb + `", "sh", "-c", "echo region=eu >> $BATON_OUTPUT"]
  - name: prod-only
    if: '{{ eq .Params.env "prod" }}'
    command: ["` + bb + `", "true"]
  - name: after-prod
    needs: [prod-only]
    if: '{{ and (eq .Vars.region "eu") (eq (index .Steps "prod-only").Status "skipped") }}'
    command: ["` + bb + `", "sh", "-c", "echo ran=yes >> $BATON_OUTPUT"]
  - name: broken
    needs: [after-prod]
    if: '{{ .Vars.region }}'
    command: ["` + bb + `", "true"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	if s := stepByName(t, r, "prod-only"); s.Status != store.StepSkipped || !strings.Contains(s.Error, "condition (if:) is false") {
		t.Errorf("prod-only: %s %q, want skipped by its condition", s.Status, s.Error)
	}
	if s := stepByName(t, r, "after-prod"); s.Status != store.StepSucceeded || r.Variables["ran"] != "yes" {
		t.Errorf("after-prod, which needs a step its condition skipped: %s %q, ran=%q", s.Status, s.Error, r.Variables["ran"])
	}
	if s := stepByName(t, r, "broken"); s.Status != store.StepFailed || strings.Contains(s.Error, "eu") || !strings.Contains(s.Error, "2 bytes that are neither true nor false") {
		t.Errorf("broken: %s %q, want failed saying how much its condition gave, not what", s.Status, s.Error)
	}
	r = h.run(name, map[string]string{"env": "prod"})
	if s := stepByName(t, r, "prod-only"); s.Status != store.StepSucceeded {
		t.Errorf("prod-only with env=prod: %s %q", s.Status, s.Error)
	}
	if s := stepByName(t, r, "after-prod"); s.Status != store.StepSkipped {
		t.Errorf("after-prod when prod-only ran: %s, want skipped by its own condition", s.Status)
	}
}

// TestFailedNeedStillSkips: a step that needs one that failed is skipped,
// with or without a condition of its own.
func TestFailedNeedStillSkips(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: blocked
steps:
  - name: breaks
    command: ["` + bb + `", "false"]
  - name: after
    if: "true"
    command: ["` + bb + `", "true"]
`)
	r := h.run(name, nil)
	if s := stepByName(t, r, "after"); s.Status != store.StepSkipped || !strings.Contains(s.Error, `"breaks" did not succeed`) {
		t.Errorf("after a failed step: %s %q", s.Status, s.Error)
	}
}

// finallyPipeline has a main step that does what main says, a step after
// it, and two finally steps that print how the run went.
func finallyPipeline(bb, main string) string {
	return `
name: cleanup
timeout: 3s
steps:
  - name: work
    command: ["` + bb + `", "sh", "-c", ` + quoteYAML(main) + `]
  - name: more
    command: ["` + bb + `", "true"]
finally:
  - name: report
    command: ["` + bb + `", "sh", "-c", "echo status=$BATON_RUN_STATUS failed=$BATON_FAILED_STEP; echo seen=$BATON_RUN_STATUS >> $BATON_OUTPUT"]
  - name: teardown
    if: '{{ ne .Run.Status "succeeded" }}'
    command: ["` + bb + `", "sh", "-c", "sleep 0.2; echo torn down"]
`
}

// TestFinallyRuns: finally steps run after the others end, however they
// end (success, failure, cancel, the run's timeout), see how they ended,
// and do not change how the run ends.
func TestFinallyRuns(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	for _, tc := range []struct {
		name, main string
		cancel     bool
		want       store.RunStatus
		report     string
		teardown   store.StepStatus
	}{
		{"success", "true", false, store.RunSucceeded, "status=succeeded failed=", store.StepSkipped},
		{"failure", "exit 3", false, store.RunFailed, "status=failed failed=work", store.StepSucceeded},
		{"cancel", "sleep 30", true, store.RunCanceled, "status=canceled failed=", store.StepSucceeded},
		{"timeout", "sleep 30", false, store.RunFailed, "status=failed failed=", store.StepSucceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newProcessHarness(t)
			name := h.apply(finallyPipeline(bb, tc.main))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
			if err != nil {
				t.Fatal(err)
			}
			if tc.cancel {
				waitFor(t, func() bool {
					a, err := h.st.AttemptGet(ctx, run.ID, "work", 1)
					return err == nil && len(a.Handle) > 0
				})
				if err := h.eng.Cancel(ctx, run.ID); err != nil {
					t.Fatal(err)
				}
				// A second cancel, while the finally steps run, stops
				// nothing: they run on.
				waitFor(t, func() bool {
					_, err := h.st.AttemptGet(ctx, run.ID, "teardown", 1)
					return err == nil
				})
				_ = h.eng.Cancel(ctx, run.ID)
			}
			if _, err := h.eng.Wait(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			r := h.detail(run.ID)
			wantStatus(t, r, tc.want)
			if s := stepByName(t, r, "report"); s.Status != store.StepSucceeded {
				t.Errorf("report: %s %q", s.Status, s.Error)
			}
			if got := h.logs(run.ID, "report"); !strings.Contains(got, tc.report) {
				t.Errorf("report printed %q, want %q", got, tc.report)
			}
			if s := stepByName(t, r, "teardown"); s.Status != tc.teardown {
				t.Errorf("teardown: %s %q, want %s", s.Status, s.Error, tc.teardown)
			}
			if tc.want == store.RunSucceeded && r.Variables["seen"] != "succeeded" {
				t.Errorf("the finally step's output: %q", r.Variables["seen"])
			}
			if tc.name == "timeout" && !strings.Contains(r.Error, "timed out") {
				t.Errorf("run error after its timeout: %q", r.Error)
			}
		})
	}
}

// TestFinallyFailureFailsRun: a finally step that fails fails a run whose
// other steps succeeded.
func TestFinallyFailureFailsRun(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: badcleanup
steps:
  - name: work
    command: ["` + bb + `", "true"]
finally:
  - name: teardown
    command: ["` + bb + `", "false"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	if !strings.Contains(r.Error, `"teardown"`) {
		t.Errorf("run error %q should name the finally step", r.Error)
	}
}

// TestFinallyAfterRestart: a server stopped while a finally step runs; the
// next one goes on with the finally phase (the process executor cannot
// re-attach, so the attempt is tried again) and the run ends as its other
// steps said.
func TestFinallyAfterRestart(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	goFile := filepath.Join(dir, "go")
	h := newHarness(t, process.New(process.Options{Dir: filepath.Join(dir, "p1")}), "", "")
	name := h.apply(`
name: restartfinally
steps:
  - name: work
    command: ["` + bb + `", "false"]
finally:
  - name: teardown
    retry: {limit: 2, backoff: 100ms}
    command: ["` + bb + `", "sh", "-c", "until [ -e ` + goFile + ` ]; do ` + bb + ` sleep 0.05; done; echo cleaned"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	got := restartOnProcess(t, h, dir, run.ID, "teardown", goFile)
	if got.Status != store.RunFailed {
		t.Errorf("run after a restart in its finally phase: %s (%s), want failed as its step did", got.Status, got.Error)
	}
	steps, err := h.st.StepList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Name == "teardown" && s.Status != store.StepSucceeded {
			t.Errorf("teardown after the restart: %s %q", s.Status, s.Error)
		}
	}
}

// restartOnProcess stops h's engine as a shutdown does, once the attempt
// of step is running, starts another on the same store with a process
// executor of its own, lets the step go on (goFile), and returns the run
// as the new engine ends it.
func restartOnProcess(t *testing.T, h *harness, dir, runID, step, goFile string) *store.RunRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, runID, step, 1)
		return err == nil && len(a.Handle) > 0
	})
	if err := h.eng.Close(ctx); err != nil {
		t.Fatal(err)
	}
	next, err := engine.New(engine.Config{Store: h.st, Executor: process.New(process.Options{Dir: filepath.Join(dir, "next")}), StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = next.Close(context.Background()) })
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := next.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := next.Wait(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
