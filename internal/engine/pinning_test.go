package engine_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
)

// goSignal is an HTTP server containers reach through host.docker.internal:
// GET /go fails until open is called. A step waits for it with wget.
type goSignal struct {
	port string
	open atomic.Bool
}

func newGoSignal(t *testing.T) *goSignal {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &goSignal{port: strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.open.Load() {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
		}
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return g
}

// wait is a shell command that waits until the signal opens.
func (g *goSignal) wait() string {
	return "until wget -q -O /dev/null http://host.docker.internal:" + g.port + "/go; do sleep 0.2; done"
}

// TestRunStaysWithItsExecutor stops an engine while its docker run runs,
// then recovers the same store with the process executor: the run is left
// as it is, says why, and its container is neither driven, stopped nor
// marked removed. An engine with the docker executor then finishes it.
func TestRunStaysWithItsExecutor(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t)
	g := newGoSignal(t)
	name := h.apply(`
name: pinned
steps:
  - name: only
    image: ` + image + `
    pull: never
    timeout: 2m
    command: ["sh", "-c", "` + g.wait() + `; echo done"]
`)
	ctx := context.Background()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	if run.Executor != "docker" {
		t.Fatalf("run created with executor %q, want docker", run.Executor)
	}
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, run.ID, "only", 1)
		return err == nil && len(a.Handle) > 0
	})
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.eng.Close(closeCtx); err != nil {
		t.Fatal(err)
	}

	// The process executor's life: it must leave the run alone.
	proc, err := engine.New(engine.Config{Store: h.st, Executor: process.New(process.Options{Dir: t.TempDir()}), StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := h.st.RunGet(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunRunning || !strings.Contains(got.Error, `executor "docker"`) || !strings.Contains(got.Error, `"process"`) {
		t.Errorf("run after a process life: %s (%q), want running, with a note naming both executors", got.Status, got.Error)
	}
	a, err := h.st.AttemptGet(ctx, run.ID, "only", 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.StepRunning || a.Removed || a.CleanupError != "" {
		t.Errorf("attempt after a process life: %s, removed %v, cleanup %q; want running and untouched", a.Status, a.Removed, a.CleanupError)
	}
	if left := leftovers(t, d, run.ID); len(left) != 1 || !strings.Contains(left[0], "running") {
		t.Errorf("the container after a process life: %v, want it still running", left)
	}
	if err := proc.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Docker's life finishes it.
	dock, err := engine.New(engine.Config{Store: h.st, Executor: d, StopGrace: time.Second, LogFlush: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dock.Close(context.Background()) })
	if err := dock.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	g.open.Store(true)
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	end, err := dock.Wait(waitCtx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != store.RunSucceeded || end.Error != "" {
		t.Errorf("run after the docker life: %s (%q), want succeeded without the note", end.Status, end.Error)
	}
	if left := leftovers(t, d, run.ID); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestForeignHandleNeverMarkedRemoved leaves a finished docker attempt
// unremoved, as a crash would, and reaps with the process executor: the
// attempt is not marked removed, and its cleanup error says whose it is. A
// re-run on the process executor is refused.
func TestForeignHandleNeverMarkedRemoved(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t)
	name := h.apply(`
name: foreign
steps:
  - name: only
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "exit 3"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	ctx := context.Background()
	a, err := h.st.AttemptGet(ctx, r.ID, "only", 1)
	if err != nil {
		t.Fatal(err)
	}
	var handle executor.Handle
	if err := json.Unmarshal(a.Handle, &handle); err != nil || handle.Executor != "docker" {
		t.Fatalf("attempt handle %s (%v), want docker's", a.Handle, err)
	}
	// The removal a crash cut short.
	if err := h.st.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: r.ID, Name: "only", Attempt: 1, Tries: 1}); err != nil {
		t.Fatal(err)
	}

	proc, err := engine.New(engine.Config{Store: h.st, Executor: process.New(process.Options{Dir: t.TempDir()})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Close(context.Background()) })
	if err := proc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	a, err = h.st.AttemptGet(ctx, r.ID, "only", 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Removed || !strings.Contains(a.CleanupError, `"docker"`) || !strings.Contains(a.CleanupError, `"process"`) {
		t.Errorf("docker attempt after a process reap: removed %v, cleanup error %q; want not removed, naming both executors", a.Removed, a.CleanupError)
	}
	if _, err := proc.Rerun(ctx, &engine.RerunParams{RunID: r.ID}); err == nil || !strings.Contains(err.Error(), `"docker"`) {
		t.Errorf("re-run of a docker run on the process executor: %v, want refused", err)
	}

	// The docker executor removes it and says so.
	dock, err := engine.New(engine.Config{Store: h.st, Executor: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dock.Close(context.Background()) })
	if _, err := dock.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	if a, err = h.st.AttemptGet(ctx, r.ID, "only", 1); err != nil || !a.Removed || a.CleanupError != "" {
		t.Errorf("after a docker reap: %+v, %v; want removed", a, err)
	}
}
