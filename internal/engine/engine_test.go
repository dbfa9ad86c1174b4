package engine_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/testbin"
)

// harness is an engine on a real SQLite file, with the API served over real
// HTTP so steps can post outputs back.
type harness struct {
	t    testing.TB
	st   store.Store
	eng  *engine.Engine
	exec executor.Executor
	srv  *httptest.Server
	// dbFile is the SQLite file the store writes.
	dbFile string
}

// newHarness listens on listen ("" for loopback); steps call back through
// callbackHost, or the listen address when it is empty.
func newHarness(t testing.TB, exec executor.Executor, listen, callbackHost string, configure ...func(*engine.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	dbFile := filepath.Join(t.TempDir(), "baton.db")
	st, err := sqlite.Open(ctx, dbFile, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, exec: exec, dbFile: dbFile}
	handler := http.Handler(http.NotFoundHandler())
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			t.Fatal(err)
		}
		h.srv.Listener.Close()
		h.srv.Listener = ln
	}
	h.srv.Start()
	cb := h.srv.URL
	if callbackHost != "" {
		cb = "http://" + callbackHost + ":" + h.srv.URL[strings.LastIndex(h.srv.URL, ":")+1:]
	}
	cfg := engine.Config{Store: st, Executor: exec, CallbackURL: cb, StopGrace: 2 * time.Second, LogFlush: 20 * time.Millisecond}
	for _, c := range configure {
		c(&cfg)
	}
	h.eng, err = engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	handler = api.New(h.eng, st, api.Options{})
	t.Cleanup(func() {
		h.srv.Close()
		_ = h.eng.Close(context.Background())
		_ = st.Close()
	})
	return h
}

func newProcessHarness(t *testing.T) *harness {
	t.Helper()
	return newHarness(t, process.New(process.Options{Dir: t.TempDir()}), "", "")
}

func (h *harness) apply(spec string) string {
	h.t.Helper()
	row, _, err := h.eng.Apply(context.Background(), "test.yaml", []byte(spec))
	if err != nil {
		h.t.Fatal(err)
	}
	return row.Name
}

// run starts a run and waits for its end, returning it in full.
func (h *harness) run(pipeline string, params map[string]string) *api.Run {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: pipeline, Params: params})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		h.t.Fatal(err)
	}
	return h.detail(run.ID)
}

func (h *harness) detail(id string) *api.Run {
	h.t.Helper()
	d, err := api.RunDetail(context.Background(), h.eng, h.st, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) logs(runID, step string) string {
	h.t.Helper()
	rows, err := h.st.LogList(context.Background(), &store.LogListParams{RunID: runID, Step: step})
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.Stream + ":" + r.Text + "\n")
	}
	return b.String()
}

func stepByName(t *testing.T, r *api.Run, name string) api.Step {
	t.Helper()
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("run %s has no step %q", r.ID, name)
	return api.Step{}
}

func wantStatus(t *testing.T, r *api.Run, want store.RunStatus) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("run status = %s (error %q), want %s; steps: %+v", r.Status, r.Error, want, r.Steps)
	}
}

func busybox(t *testing.T) string { return testbin.Busybox(t) }

func TestVariablesFlowThroughOutputFileAndCallback(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: flow
params:
  who: {required: true}
vars:
  greeting: "hello {{ .Params.who }}"
  run: "{{ .Run.ID }}"
steps:
  - name: first
    command: ["` + bb + `", "sh", "-c", "` + bb + ` wget -q -O- --header \"Authorization: Bearer $(cat $BATON_TOKEN_FILE)\" --header 'Content-Type: application/json' --post-data '{\"variables\": {\"from_callback\": \"cb value\"}}' \"$BATON_CALLBACK_URL\""]
  - name: second
    command: ["` + bb + `", "sh", "-c", "echo \"seen=$BATON_VAR_greeting/$BATON_VAR_from_callback\" >> $BATON_OUTPUT; printf 'multi<<END\\na\\nb\\nEND\\n' >> $BATON_OUTPUT"]
  - name: third
    command: ["` + bb + `", "sh", "-c", "echo \"$BATON_VAR_seen|$BATON_VAR_multi|$BATON_STEP|$BATON_ATTEMPT\""]
`)
	r := h.run(name, map[string]string{"who": "$(rm -rf /) 'quoted'"})
	wantStatus(t, r, store.RunSucceeded)
	want := map[string]string{
		"greeting":      "hello $(rm -rf /) 'quoted'",
		"run":           r.ID,
		"from_callback": "cb value",
		"seen":          "hello $(rm -rf /) 'quoted'/cb value",
		"multi":         "a\nb",
	}
	for k, v := range want {
		if r.Variables[k] != v {
			t.Errorf("variable %s = %q, want %q", k, r.Variables[k], v)
		}
	}
	// The multi-line value prints on two lines.
	if got, want := h.logs(r.ID, "third"), "stdout:hello $(rm -rf /) 'quoted'/cb value|a\nstdout:b|third|1\n"; got != want {
		t.Errorf("third step printed %q, want %q", got, want)
	}
}

func TestBadParamsCreateNoRun(t *testing.T) {
	t.Parallel()
	h := newProcessHarness(t)
	name := h.apply(`
name: strict
params:
  target: {required: true}
steps:
  - name: only
    command: ["true"]
`)
	for _, params := range []map[string]string{nil, {"target": "x", "extra": "y"}} {
		_, err := h.eng.Submit(context.Background(), &engine.SubmitParams{Pipeline: name, Params: params})
		if !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("Submit(%v) error = %v, want ErrInvalid", params, err)
		}
	}
	runs, err := h.st.RunList(context.Background(), &store.RunListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Fatalf("bad params created %d runs", len(runs))
	}
}

func TestFailureSkipsDependentsAndExplains(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: failing
steps:
  - name: breaks
    command: ["` + bb + `", "sh", "-c", "echo about to fail; echo disk full >&2; exit 3"]
  - name: after
    command: ["` + bb + `", "true"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	s := stepByName(t, r, "breaks")
	if s.ExitCode == nil || *s.ExitCode != 3 {
		t.Errorf("exit code = %v, want 3", s.ExitCode)
	}
	if !strings.Contains(r.Error, "exited with code 3") || !strings.Contains(r.Error, "disk full") {
		t.Errorf("run error %q should name the exit code and the last output", r.Error)
	}
	if got := stepByName(t, r, "after").Status; got != store.StepSkipped {
		t.Errorf("dependent step status = %s, want skipped", got)
	}
	if logs := h.logs(r.ID, "breaks"); !strings.Contains(logs, "stdout:about to fail\n") || !strings.Contains(logs, "stderr:disk full\n") {
		t.Errorf("logs = %q", logs)
	}
}

func TestRetryUntilSuccess(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	marker := filepath.Join(t.TempDir(), "tried")
	name := h.apply(`
name: flaky
steps:
  - name: flaky
    retry: {limit: 2, backoff: 10ms}
    command: ["` + bb + `", "sh", "-c", "if [ -e ` + marker + ` ]; then echo ok=$BATON_ATTEMPT >> $BATON_OUTPUT; else touch ` + marker + `; exit 1; fi"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	s := stepByName(t, r, "flaky")
	if len(s.Attempts) != 2 || s.Attempts[0].Status != store.StepFailed || s.Attempts[1].Status != store.StepSucceeded {
		t.Fatalf("attempts = %+v, want failed then succeeded", s.Attempts)
	}
	if r.Variables["ok"] != "2" {
		t.Errorf("ok = %q, want the second attempt's number", r.Variables["ok"])
	}
}

func TestTimeoutStopsAndRemoves(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: slow
steps:
  - name: sleeps
    timeout: 300ms
    command: ["` + bb + `", "sleep", "60"]
`)
	start := time.Now()
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("timed-out step took %s to end", took)
	}
	s := stepByName(t, r, "sleeps")
	if !strings.Contains(s.Error, "timed out after 300ms") {
		t.Errorf("error = %q, want it to say it timed out", s.Error)
	}
	if a := s.Attempts[0]; !a.Removed {
		t.Errorf("attempt not removed after timeout: %+v", a)
	}
}

func TestCancelStopsRunningAndPending(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: cancelme
steps:
  - name: long
    command: ["` + bb + `", "sleep", "60"]
  - name: never
    command: ["` + bb + `", "true"]
`)
	ctx := context.Background()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return stepByName(t, h.detail(run.ID), "long").Status == store.StepRunning })
	if err := h.eng.Cancel(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	r := h.detail(run.ID)
	wantStatus(t, r, store.RunCanceled)
	if s := stepByName(t, r, "long"); s.Status != store.StepCanceled || !s.Attempts[0].Removed {
		t.Errorf("long = %+v, want canceled and removed", s)
	}
	if s := stepByName(t, r, "never"); s.Status != store.StepCanceled || len(s.Attempts) != 0 {
		t.Errorf("never = %+v, want canceled without an attempt", s)
	}
	if err := h.eng.Cancel(ctx, run.ID); !errors.Is(err, engine.ErrFinished) {
		t.Errorf("second cancel error = %v, want ErrFinished", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeFile creates an empty file, for steps that wait for one.
func writeFile(name string) (string, error) {
	return name, os.WriteFile(name, nil, 0o644)
}
