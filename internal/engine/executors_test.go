package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
)

// twoProcesses makes the harness's engine run two process executors,
// named a and b, with a the default.
func twoProcesses(t *testing.T) func(*engine.Config) {
	return func(cfg *engine.Config) {
		cfg.Executor = nil
		cfg.Executors = map[string]executor.Executor{
			"a": process.New(process.Options{Dir: t.TempDir()}),
			"b": process.New(process.Options{Dir: t.TempDir()}),
		}
		cfg.DefaultExecutor = "a"
	}
}

// attemptHandle returns the stored attempt and the executor its handle
// names.
func attemptHandle(t *testing.T, st store.Store, runID, step string, n int) (*store.AttemptRow, string) {
	t.Helper()
	a, err := st.AttemptGet(context.Background(), runID, step, n)
	if err != nil {
		t.Fatal(err)
	}
	var h executor.Handle
	if err := json.Unmarshal(a.Handle, &h); err != nil {
		t.Fatalf("attempt %d of %s: handle %q: %v", n, step, a.Handle, err)
	}
	return a, h.Executor
}

// TestStepsPickTheirExecutor runs a pipeline whose steps run on two
// executors of one type: each attempt records, and its handle names, the
// registry name it ran on, never the type's; the executor is handed its
// own handles back (a process executor refuses another's), so the run
// succeeds and everything is removed.
func TestStepsPickTheirExecutor(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newHarness(t, nil, "", "", twoProcesses(t))
	if got := h.eng.Executors(); strings.Join(got, ",") != "a,b" || h.eng.DefaultExecutor() != "a" {
		t.Fatalf("engine executors %v, default %q; want a,b and a", got, h.eng.DefaultExecutor())
	}
	name := h.apply(`
name: mixed
executor: b
steps:
  - name: first
    command: ["` + bb + `", "sh", "-c", "echo x=1 >> $BATON_OUTPUT"]
  - name: second
    executor: a
    command: ["` + bb + `", "sh", "-c", "echo y=$BATON_VAR_x$BATON_VAR_x >> $BATON_OUTPUT"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	if r.Executor != "b" || r.Variables["y"] != "11" {
		t.Errorf("run on %q with variables %v; want b and y=11", r.Executor, r.Variables)
	}
	for step, want := range map[string]string{"first": "b", "second": "a"} {
		a, handleExec := attemptHandle(t, h.st, r.ID, step, 1)
		if a.Executor != want || handleExec != want || !a.Removed || a.CleanupError != "" {
			t.Errorf("step %s: attempt executor %q, handle executor %q, removed %v (%q); want %s, removed", step, a.Executor, handleExec, a.Removed, a.CleanupError, want)
		}
		if got := stepByName(t, r, step).Attempts[0].Executor; got != want {
			t.Errorf("step %s: API attempt executor %q, want %s", step, got, want)
		}
	}

	// A pipeline naming none runs on the default.
	plain := h.apply("name: plain\nsteps:\n  - {name: only, command: [\"" + bb + "\", \"true\"]}\n")
	if r := h.run(plain, nil); r.Executor != "a" || r.Steps[0].Attempts[0].Executor != "a" {
		t.Errorf("a pipeline without executor: run on %q, attempt on %q; want the default, a", r.Executor, r.Steps[0].Attempts[0].Executor)
	}
}

// TestUnknownExecutorRefused: a pipeline naming an executor the server
// does not have is refused when applied, naming those it has; one stored
// by a server that had it cannot start a run here.
func TestUnknownExecutorRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, "", "", twoProcesses(t))
	ctx := context.Background()
	for _, spec := range []string{
		"name: p\nexecutor: cluster\nsteps:\n  - {name: s, command: [\"true\"]}\n",
		"name: p\nsteps:\n  - {name: s, command: [\"true\"]}\n  - {name: t, command: [\"true\"], executor: cluster}\n",
	} {
		_, _, err := h.eng.Apply(ctx, "p.yaml", []byte(spec))
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), `"cluster" is not an executor of this server; it has a and b`) {
			t.Errorf("apply of a pipeline naming executor cluster: %v; want refused, naming a and b", err)
		}
	}
	if _, err := h.st.PipelineGet(ctx, "p", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused pipeline was stored: %v", err)
	}

	// Stored by another server, which has the executor.
	if _, err := h.st.PipelinePut(ctx, &store.PipelinePutParams{Name: "other", Spec: []byte("name: other\nexecutor: cluster\nsteps:\n  - {name: s, command: [\"true\"]}\n"), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: "other"})
	if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), `executor "cluster"`) || !strings.Contains(err.Error(), `"a", "b"`) {
		t.Errorf("submit of a pipeline for executor cluster: %v; want refused, naming it and the server's", err)
	}
	runs, err := h.st.RunList(ctx, &store.RunListParams{Pipeline: "other"})
	if err != nil || len(runs) != 0 {
		t.Errorf("runs of the refused pipeline: %v, %v; want none", runs, err)
	}
}

// TestConfigRefusesBadExecutorSets: the set and its default must agree.
func TestConfigRefusesBadExecutorSets(t *testing.T) {
	t.Parallel()
	st := newProcessHarness(t).st
	p := func() executor.Executor { return process.New(process.Options{Dir: t.TempDir()}) }
	for _, c := range []struct {
		name string
		cfg  engine.Config
		want string
	}{
		{"none", engine.Config{Store: st}, "an executor is required"},
		{"no default", engine.Config{Store: st, Executors: map[string]executor.Executor{"a": p(), "b": p()}}, "no default"},
		{"unknown default", engine.Config{Store: st, Executors: map[string]executor.Executor{"a": p()}, DefaultExecutor: "z"}, `"z" is not one of a`},
		{"both forms", engine.Config{Store: st, Executors: map[string]executor.Executor{"a": p()}, Executor: p()}, "not both"},
	} {
		if _, err := engine.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestExecutorsRouteByName runs one pipeline on a process executor named a
// and a docker executor named local: each step runs, and calls back, where
// it says; every later call for an attempt (wait, stop, removal, reaping,
// re-attaching after a restart) goes to the executor that ran it, and an
// engine without that executor leaves the attempt, and a run that needs
// it, alone, saying why.
func TestExecutorsRouteByName(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	var local executor.Executor
	h, d, image := newDockerHarness(t, func(cfg *engine.Config) {
		local = cfg.Executor
		cfg.Executor = nil
		cfg.Executors = map[string]executor.Executor{"a": process.New(process.Options{Dir: t.TempDir()}), "local": local}
		cfg.DefaultExecutor = "local"
		// A process cannot resolve host.docker.internal.
		cfg.CallbackURLs = map[string]string{"a": strings.Replace(cfg.CallbackURL, "host.docker.internal", "127.0.0.1", 1)}
	})
	g := newGoSignal(t)
	ctx := context.Background()
	name := h.apply(`
name: routed
steps:
  - name: here
    executor: a
    command: ["` + bb + `", "sh", "-c", "` + bb + ` wget -q -O- --header \"Authorization: Bearer $(cat $BATON_TOKEN_FILE)\" --header 'Content-Type: application/json' --post-data '{\"variables\": {\"found\": \"42\"}}' \"$BATON_CALLBACK_URL\""]
  - name: there
    image: ` + image + `
    pull: never
    timeout: 2m
    command: ["sh", "-c", "if test -n \"$BATON_VAR_wait\"; then ` + g.wait() + `; fi; echo seen=$BATON_VAR_found >> $BATON_OUTPUT"]
params:
  wait: {default: ""}
vars:
  wait: "{{ .Params.wait }}"
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	if r.Executor != "local" || r.Variables["seen"] != "42" {
		t.Fatalf("run on %q with variables %v; want local, seen=42", r.Executor, r.Variables)
	}
	for step, want := range map[string]string{"here": "a", "there": "local"} {
		if a, handleExec := attemptHandle(t, h.st, r.ID, step, 1); a.Executor != want || handleExec != want || !a.Removed {
			t.Errorf("step %s: attempt on %q, handle of %q, removed %v (%q); want %s, removed", step, a.Executor, handleExec, a.Removed, a.CleanupError, want)
		}
	}
	if left := leftovers(t, d, r.ID); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}

	// Removals a crash cut short: each attempt's goes to its executor.
	for _, step := range []string{"here", "there"} {
		if err := h.st.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: r.ID, Name: step, Attempt: 1, Tries: 1}); err != nil {
			t.Fatal(err)
		}
	}
	onlyA := newEngine(t, h.st, map[string]executor.Executor{"a": process.New(process.Options{Dir: t.TempDir()})}, "a")
	if _, err := onlyA.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _ := attemptHandle(t, h.st, r.ID, "here", 1); !a.Removed {
		t.Errorf("process attempt after a reap by a: removed %v (%q), want removed", a.Removed, a.CleanupError)
	}
	if a, _ := attemptHandle(t, h.st, r.ID, "there", 1); a.Removed || !strings.Contains(a.CleanupError, `executor "local"`) || !strings.Contains(a.CleanupError, `"a"`) {
		t.Errorf("docker attempt after a reap by a: removed %v, cleanup %q; want left, naming local and a", a.Removed, a.CleanupError)
	}
	onlyLocal := newEngine(t, h.st, map[string]executor.Executor{"local": local}, "")
	if _, err := onlyLocal.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _ := attemptHandle(t, h.st, r.ID, "there", 1); !a.Removed || a.CleanupError != "" {
		t.Errorf("docker attempt after a reap by local: removed %v (%q), want removed", a.Removed, a.CleanupError)
	}

	// A restart mid-run: the docker attempt runs on while baton is down.
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name, Params: map[string]string{"wait": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, run.ID, "there", 1)
		return err == nil && len(a.Handle) > 0
	})
	closeEngine(t, h.eng)

	// A server without a, which an ended step of the run ran on, leaves
	// the run alone: it needs a.
	onlyLocal = newEngine(t, h.st, map[string]executor.Executor{"local": local}, "")
	if err := onlyLocal.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := h.st.RunGet(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunRunning || !strings.Contains(got.Error, `waiting for a server with executor "a"`) {
		t.Errorf("run on a server without a: %s (%q), want running, waiting for a", got.Status, got.Error)
	}
	if left := leftovers(t, d, run.ID); len(left) != 1 || !strings.Contains(left[0], "running") {
		t.Errorf("container on a server without a: %v, want it still running", left)
	}
	closeEngine(t, onlyLocal)

	// With both, it re-attaches through the handle named local.
	both := newEngine(t, h.st, map[string]executor.Executor{"a": process.New(process.Options{Dir: t.TempDir()}), "local": local}, "local")
	if err := both.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	g.open.Store(true)
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	end, err := both.Wait(waitCtx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != store.RunSucceeded || end.Error != "" {
		t.Errorf("run after the restart: %s (%q), want succeeded without the note", end.Status, end.Error)
	}
	if a, _ := attemptHandle(t, h.st, run.ID, "there", 1); a.Executor != "local" || !a.Removed {
		t.Errorf("re-attached attempt: on %q, removed %v (%q); want local, removed", a.Executor, a.Removed, a.CleanupError)
	}
	if left := leftovers(t, d, run.ID); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestOldDockerHandlesResume: data from a server with one executor (runs,
// attempts and handles saying docker, as they always have) is resumed and
// cleaned up by a server whose executors include one named docker.
func TestOldDockerHandlesResume(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t)
	g := newGoSignal(t)
	ctx := context.Background()
	name := h.apply(`
name: old
steps:
  - name: only
    image: ` + image + `
    pull: never
    timeout: 2m
    command: ["sh", "-c", "` + g.wait() + `"]
`)
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, run.ID, "only", 1)
		return err == nil && len(a.Handle) > 0
	})
	closeEngine(t, h.eng)
	if a, handleExec := attemptHandle(t, h.st, run.ID, "only", 1); a.Executor != "docker" || handleExec != "docker" || run.Executor != "docker" {
		t.Fatalf("a single docker executor's run: %q, attempt %q, handle %q; want docker throughout", run.Executor, a.Executor, handleExec)
	}

	eng := newEngine(t, h.st, map[string]executor.Executor{"docker": d, "a": process.New(process.Options{Dir: t.TempDir()})}, "a")
	if err := eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	g.open.Store(true)
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	end, err := eng.Wait(waitCtx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != store.RunSucceeded {
		t.Errorf("old run: %s (%q), want succeeded", end.Status, end.Error)
	}
	if a, _ := attemptHandle(t, h.st, run.ID, "only", 1); !a.Removed {
		t.Errorf("old attempt: removed %v (%q), want removed", a.Removed, a.CleanupError)
	}
	if left := leftovers(t, d, run.ID); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// newEngine is an engine on st with the executors given, closed with the
// test.
func newEngine(t *testing.T, st store.Store, execs map[string]executor.Executor, def string) *engine.Engine {
	t.Helper()
	eng, err := engine.New(engine.Config{Store: st, Executors: execs, DefaultExecutor: def, StopGrace: time.Second, LogFlush: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng
}

func closeEngine(t *testing.T, eng *engine.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := eng.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
