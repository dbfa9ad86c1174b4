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

// childPipeline makes an URL from its region param, after running the
// shell line first.
func childPipeline(bb, first string) string {
	return `
name: child
params:
  region: {required: true}
vars:
  region: "{{ .Params.region }}"
steps:
  - name: make-url
    retry: {limit: 1, backoff: 100ms}
    command: ["` + bb + `", "sh", "-c", ` + quoteYAML(first+`; echo "url=https://$BATON_VAR_region.example" >> $BATON_OUTPUT`) + `]
`
}

const parentPipeline = `
name: parent
vars:
  region: eu
steps:
  - name: call
    pipeline: child
    params: {region: '{{ .Vars.region }}-1'}
    outputs: [url]
  - name: use
    command: ["BB", "sh", "-c", "echo used=$BATON_VAR_url >> $BATON_OUTPUT"]
`

// children returns the runs of pipeline child.
func children(t *testing.T, h *harness) []*store.RunRow {
	t.Helper()
	runs, err := h.st.RunList(context.Background(), &store.RunListParams{Pipeline: "child"})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// TestSubPipeline: a step runs another pipeline with params from its
// templates, waits for it, and takes the variables it names as outputs,
// which the next step sees; the child names its parent.
func TestSubPipeline(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	h.apply(childPipeline(bb, "true"))
	name := h.apply(strings.ReplaceAll(parentPipeline, "BB", bb))
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	if r.Variables["url"] != "https://eu-1.example" || r.Variables["used"] != "https://eu-1.example" {
		t.Errorf("variables after the sub-pipeline: %q", r.Variables)
	}
	kids := children(t, h)
	if len(kids) != 1 {
		t.Fatalf("%d child runs, want 1", len(kids))
	}
	if want := (store.RunParent{RunID: r.ID, Step: "call", Attempt: 1}); kids[0].Parent != want || kids[0].Status != store.RunSucceeded {
		t.Errorf("child run: %s, parent %+v; want succeeded, parent %+v", kids[0].Status, kids[0].Parent, want)
	}
	if kids[0].Params["region"] != "eu-1" {
		t.Errorf("child params: %q", kids[0].Params)
	}
	// The API links them both ways.
	if a := stepByName(t, r, "call").Attempts; len(a) != 1 || a[0].ChildRun != kids[0].ID {
		t.Errorf("the call step's attempts in the API: %+v, want one naming child run %s", a, kids[0].ID)
	}
	if p := h.detail(kids[0].ID).Parent; p == nil || p.RunID != r.ID || p.Step != "call" || p.Attempt != 1 {
		t.Errorf("the child's parent in the API: %+v", p)
	}
}

// TestSubPipelineFailureRetried: a child that fails fails the attempt;
// the step's retry starts a new child, and the error names the child.
func TestSubPipelineFailureRetried(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	h.apply(`
name: child
steps:
  - name: breaks
    command: ["` + bb + `", "sh", "-c", "echo no luck >&2; exit 4"]
`)
	name := h.apply(`
name: parent
steps:
  - name: call
    pipeline: child
    retry: {limit: 1, backoff: 10ms}
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	s := stepByName(t, r, "call")
	if len(s.Attempts) != 2 || !strings.Contains(s.Error, "child run ") || !strings.Contains(s.Error, "failed") {
		t.Errorf("call: %d attempts, error %q; want 2 naming the failed child", len(s.Attempts), s.Error)
	}
	if kids := children(t, h); len(kids) != 2 {
		t.Errorf("%d child runs for two attempts, want 2", len(kids))
	}
}

// TestSubPipelineMissingOutput: a child that succeeds without a variable
// the step takes fails the step, naming it.
func TestSubPipelineMissingOutput(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	h.apply("name: child\nsteps:\n  - {name: a, command: [\"" + bb + "\", \"true\"]}\n")
	name := h.apply("name: parent\nsteps:\n  - {name: call, pipeline: child, outputs: [url]}\n")
	r := h.run(name, nil)
	if s := stepByName(t, r, "call"); s.Status != store.StepFailed || !strings.Contains(s.Error, `without the variable "url"`) {
		t.Errorf("call: %s %q", s.Status, s.Error)
	}
}

// TestSubPipelineCanceled: canceling the parent cancels the child, and
// both end canceled.
func TestSubPipelineCanceled(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	h.apply(childPipeline(bb, "sleep 60"))
	name := h.apply(strings.ReplaceAll(parentPipeline, "BB", bb))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		kids := children(t, h)
		return len(kids) == 1 && kids[0].Status == store.RunRunning
	})
	if err := h.eng.Cancel(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	got, err := h.eng.Wait(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunCanceled {
		t.Errorf("parent after cancel: %s (%s)", got.Status, got.Error)
	}
	if kids := children(t, h); kids[0].Status != store.RunCanceled {
		t.Errorf("child after its parent was canceled: %s", kids[0].Status)
	}
}

// TestSubPipelineCycleRefused: a pipeline that would run itself, directly
// or through others, is refused when applied.
func TestSubPipelineCycleRefused(t *testing.T) {
	t.Parallel()
	h := newProcessHarness(t)
	h.apply("name: b\nsteps:\n  - {name: call-c, pipeline: c}\n")
	h.apply("name: c\nsteps:\n  - {name: call-a, pipeline: a}\n")
	_, _, err := h.eng.Apply(context.Background(), "a.yaml", []byte("name: a\nsteps:\n  - {name: call-b, pipeline: b}\n"))
	if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), "a → b → c → a") {
		t.Errorf("apply of a pipeline that runs itself through two others: %v", err)
	}
	_, _, err = h.eng.Apply(context.Background(), "self.yaml", []byte("name: self\nsteps:\n  - {name: again, pipeline: self}\n"))
	if err == nil || !strings.Contains(err.Error(), "cannot run itself") {
		t.Errorf("apply of a pipeline that runs itself: %v", err)
	}
}

// TestSubPipelineAfterRestart: a server stopped while a child runs; the
// next one finds the child by its key rather than starting another, and
// the parent ends with its output.
func TestSubPipelineAfterRestart(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	goFile := filepath.Join(dir, "go")
	h := newHarness(t, process.New(process.Options{Dir: filepath.Join(dir, "p1")}), "", "")
	h.apply(childPipeline(bb, "until [ -e "+goFile+" ]; do "+bb+" sleep 0.05; done"))
	name := h.apply(strings.ReplaceAll(parentPipeline, "BB", bb))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(children(t, h)) == 1 })
	got := restartOnProcess(t, h, dir, children(t, h)[0].ID, "make-url", goFile)
	if got.Status != store.RunSucceeded {
		t.Errorf("child after the restart: %s (%s)", got.Status, got.Error)
	}
	waitFor(t, func() bool {
		got, err = h.st.RunGet(ctx, run.ID)
		return err == nil && got.Status.Terminal()
	})
	if got.Status != store.RunSucceeded {
		t.Errorf("parent after the restart: %s (%s)", got.Status, got.Error)
	}
	if kids := children(t, h); len(kids) != 1 || kids[0].Status != store.RunSucceeded {
		t.Errorf("child runs after the restart: %d, want the one, succeeded", len(kids))
	}
}
