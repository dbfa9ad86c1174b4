package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/engine"
)

// TestDeletePipeline deletes a pipeline over HTTP: refused while a run is
// unfinished, naming it; then gone from every route, its ended run still
// readable, and applied again under the next revision number.
func TestDeletePipeline(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	s := newServer(t)
	gate := filepath.Join(t.TempDir(), "open")
	spec := `
name: gated
schedules:
  - cron: "@hourly"
steps:
  - name: wait
    command: ["` + bb + `", "sh", "-c", "while [ ! -e ` + gate + ` ]; do sleep 0.05; done; echo done=yes >> $BATON_OUTPUT"]
`
	if code, body := s.do("POST", "/api/v1/pipelines", spec); code != http.StatusCreated {
		t.Fatalf("apply: %d %s", code, body)
	}
	code, body := s.do("POST", "/api/v1/pipelines/gated/runs", "{}")
	if code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	var run api.Run
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	code, msg := s.send("DELETE", "/api/v1/pipelines/gated", "", nil)
	if code != http.StatusConflict || !strings.Contains(msg, run.ID) || !strings.Contains(msg, "baton runs cancel") {
		t.Fatalf("delete with a run going: %d %q, want 409 naming %s", code, msg, run.ID)
	}
	if _, body := s.do("GET", "/api/v1/pipelines", ""); !strings.Contains(body, `"gated"`) {
		t.Fatalf("a refused delete removed the pipeline: %s", body)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}

	if code, body := s.do("DELETE", "/api/v1/pipelines/gated", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	if _, body := s.do("GET", "/api/v1/pipelines", ""); strings.TrimSpace(body) != "[]" {
		t.Fatalf("list after delete: %s", body)
	}
	gone := `no pipeline "gated"; see 'baton pipelines'`
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/pipelines/gated", ""},
		{"GET", "/api/v1/pipelines/gated?revision=1", ""},
		{"POST", "/api/v1/pipelines/gated/runs", "{}"},
		{"DELETE", "/api/v1/pipelines/gated", ""},
		{"POST", "/api/v1/pipelines/gated/schedules/pause", ""},
	} {
		if code, msg := s.send(c.method, c.path, c.body, map[string]string{"Content-Type": "application/json"}); code != http.StatusNotFound || msg != gone {
			t.Errorf("%s %s after delete: %d %q, want 404 %q", c.method, c.path, code, msg, gone)
		}
	}
	// The ended run stays, with what it produced.
	code, body = s.do("GET", run.URL, "")
	if code != http.StatusOK || !strings.Contains(body, `"done": "yes"`) {
		t.Fatalf("the deleted pipeline's run: %d %s", code, body)
	}
	// Applied again, unchanged: a new revision, not the deleted one.
	code, body = s.do("POST", "/api/v1/pipelines", spec)
	if code != http.StatusCreated || !strings.Contains(body, `"revision": 2`) {
		t.Fatalf("apply after delete: %d %s", code, body)
	}
	if _, body := s.do("GET", "/api/v1/audit", ""); !strings.Contains(body, `"pipeline.delete"`) {
		t.Errorf("audit has no pipeline.delete: %s", body)
	}
}

// TestPauseSchedules pauses and resumes a pipeline's schedules over HTTP:
// the pause is in the store (where the scheduler reads it at each tick) and
// shows in the pipeline's answers.
func TestPauseSchedules(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	spec := "name: nightly\nschedules:\n  - cron: \"0 3 * * *\"\nsteps:\n  - name: x\n    command: [\"true\"]\n"
	if code, body := s.do("POST", "/api/v1/pipelines", spec); code != http.StatusCreated {
		t.Fatalf("apply: %d %s", code, body)
	}
	if code, msg := s.send("POST", "/api/v1/pipelines/nope/schedules/pause", "", map[string]string{"Content-Type": "application/json"}); code != http.StatusNotFound || msg != `no pipeline "nope"; see 'baton pipelines'` {
		t.Fatalf("pause an unknown pipeline: %d %q", code, msg)
	}
	code, body := s.do("POST", "/api/v1/pipelines/nightly/schedules/pause", "")
	var p api.Pipeline
	if code != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil || p.SchedulesPausedAt == nil || len(p.Schedules) != 1 || p.Schedules[0] != "0 3 * * *" {
		t.Fatalf("pause: %d %s", code, body)
	}
	paused, err := s.st.SchedulePauseList(context.Background())
	if err != nil || len(paused) != 1 || paused[0].Pipeline != "nightly" {
		t.Fatalf("stored pauses: %v %v", paused, err)
	}
	for _, path := range []string{"/api/v1/pipelines", "/api/v1/pipelines/nightly"} {
		if _, body := s.do("GET", path, ""); !strings.Contains(body, `"schedules_paused_at"`) {
			t.Errorf("GET %s does not show the pause: %s", path, body)
		}
	}
	code, body = s.do("POST", "/api/v1/pipelines/nightly/schedules/resume", "")
	if code != http.StatusOK || strings.Contains(body, "schedules_paused_at") {
		t.Fatalf("resume: %d %s", code, body)
	}
	if paused, _ := s.st.SchedulePauseList(context.Background()); len(paused) != 0 {
		t.Fatalf("stored pauses after resume: %v", paused)
	}
}

// TestLastAdminTokenStays refuses to revoke the last admin token, which
// would leave the server with nobody to manage it.
func TestLastAdminTokenStays(t *testing.T) {
	t.Parallel()
	s, tokens := securedServer(t)
	admin := []string{"Authorization", "Bearer " + tokens["admin"]}
	code, body := s.do("DELETE", "/api/v1/tokens/admin-token", "", admin...)
	if code != http.StatusConflict || !strings.Contains(body, "last admin token") || !strings.Contains(body, "baton tokens create --local") {
		t.Fatalf("revoke the last admin token: %d %s", code, body)
	}
	if code, body := s.do("GET", "/api/v1/tokens", "", admin...); code != http.StatusOK {
		t.Fatalf("the admin token stopped working: %d %s", code, body)
	}
	// With a second admin token, the first may go; then the second is last.
	code, body = s.do("POST", "/api/v1/tokens", `{"name": "second", "role": "admin"}`, admin...)
	if code != http.StatusCreated {
		t.Fatalf("create a second admin: %d %s", code, body)
	}
	var second api.Token
	if err := json.Unmarshal([]byte(body), &second); err != nil {
		t.Fatal(err)
	}
	if code, body := s.do("DELETE", "/api/v1/tokens/admin-token", "", admin...); code != http.StatusNoContent {
		t.Fatalf("revoke one of two admins: %d %s", code, body)
	}
	if code, body := s.do("DELETE", "/api/v1/tokens/second", "", "Authorization", "Bearer "+second.Token); code != http.StatusConflict {
		t.Fatalf("revoke the new last admin: %d %s", code, body)
	}
	// Other roles go as before; a revoked token is a conflict, not "last".
	if code, body := s.do("DELETE", "/api/v1/tokens/viewer-token", "", "Authorization", "Bearer "+second.Token); code != http.StatusNoContent {
		t.Fatalf("revoke a viewer: %d %s", code, body)
	}
	if code, body := s.do("DELETE", "/api/v1/tokens/gone", "", "Authorization", "Bearer "+second.Token); code != http.StatusConflict || !strings.Contains(body, "revoked already") {
		t.Fatalf("revoke a revoked token: %d %s", code, body)
	}
}

// TestErrorsNameWhatWasAsked checks that not-found answers say what was
// asked for and where to look, without the layers that looked.
func TestErrorsNameWhatWasAsked(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	if code, body := s.do("POST", "/api/v1/pipelines", demoSpec); code != http.StatusCreated {
		t.Fatalf("apply: %d %s", code, body)
	}
	run, err := s.eng.Submit(context.Background(), &engine.SubmitParams{Pipeline: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	jsonType := map[string]string{"Content-Type": "application/json"}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/api/v1/pipelines/x", `no pipeline "x"; see 'baton pipelines'`},
		{"GET", "/api/v1/pipelines/demo?revision=7", `pipeline "demo" has no revision 7; its latest is 1`},
		{"POST", "/api/v1/pipelines/x/runs", `no pipeline "x"; see 'baton pipelines'`},
		{"DELETE", "/api/v1/pipelines/x", `no pipeline "x"; see 'baton pipelines'`},
		{"GET", "/api/v1/runs/nope", `no run "nope"; see 'baton runs list'`},
		{"POST", "/api/v1/runs/nope/cancel", `no run "nope"; see 'baton runs list'`},
		{"POST", "/api/v1/runs/nope/retry", `no run "nope"; see 'baton runs list'`},
		{"GET", "/api/v1/runs/nope/steps/only/logs", `no run "nope"; see 'baton runs list'`},
		{"GET", "/api/v1/runs/" + run.ID + "/steps/nope/logs", `run "` + run.ID + `" has no step "nope"; see 'baton runs get ` + run.ID + `'`},
		{"DELETE", "/api/v1/secrets/nope", `no secret "nope"; see 'baton secrets list'`},
		{"DELETE", "/api/v1/tokens/nope", `no token "nope"; see 'baton tokens list'`},
	} {
		code, msg := s.send(c.method, c.path, "", jsonType)
		if code != http.StatusNotFound || msg != c.want {
			t.Errorf("%s %s: %d %q, want 404 %q", c.method, c.path, code, msg, c.want)
		}
	}
	// Other refusals drop the layers too.
	code, msg := s.send("POST", "/api/v1/pipelines/demo/runs", `{"nobody": "x"}`, jsonType)
	if code != http.StatusBadRequest || strings.Contains(msg, "engine:") || strings.Contains(msg, "invalid input") {
		t.Errorf("bad params: %d %q", code, msg)
	}
}

// TestClientCoversTheRoutes drives every client method against a server
// with tokens, so what the CLI sends (content types included) is what the
// server takes.
func TestClientCoversTheRoutes(t *testing.T) {
	t.Parallel()
	s, tokens := securedServer(t)
	ctx := context.Background()
	c := api.NewClient(s.url)
	c.Token = tokens["admin"]
	spec := demoSpec + "schedules:\n  - cron: \"@daily\"\n"
	p, err := c.Apply(ctx, "demo.yaml", []byte(spec))
	if err != nil || p.Revision != 1 {
		t.Fatalf("Apply: %+v %v", p, err)
	}
	if ps, err := c.Pipelines(ctx); err != nil || len(ps) != 1 {
		t.Fatalf("Pipelines: %v %v", ps, err)
	}
	if got, err := c.Pipeline(ctx, "demo", 0); err != nil || got.Spec != spec || len(got.Schedules) != 1 {
		t.Fatalf("Pipeline: %+v %v", got, err)
	}
	if got, err := c.Pipeline(ctx, "demo", 1); err != nil || got.Revision != 1 {
		t.Fatalf("Pipeline revision 1: %+v %v", got, err)
	}
	if got, err := c.PauseSchedules(ctx, "demo"); err != nil || got.SchedulesPausedAt == nil {
		t.Fatalf("PauseSchedules: %+v %v", got, err)
	}
	if got, err := c.ResumeSchedules(ctx, "demo"); err != nil || got.SchedulesPausedAt != nil {
		t.Fatalf("ResumeSchedules: %+v %v", got, err)
	}
	run, err := c.Trigger(ctx, "demo", map[string]string{})
	if err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	if _, err := s.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	var se *api.StatusError
	if err := c.Cancel(ctx, run.ID); !errors.As(err, &se) || se.Code != http.StatusConflict {
		t.Fatalf("Cancel of an ended run: %v, want 409", err)
	}
	if _, err := c.Retry(ctx, run.ID, "only", nil); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if rs, err := c.Runs(ctx, nil); err != nil || len(rs) != 2 {
		t.Fatalf("Runs: %v %v", rs, err)
	}
	if _, err := c.Run(ctx, run.ID); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := c.Logs(ctx, run.ID, "only", false, new(strings.Builder)); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	if err := c.SetSecret(ctx, "db_password", []byte("pw-123456")); err != nil {
		t.Fatalf("SetSecret: %v", err)
	}
	if ss, err := c.Secrets(ctx); err != nil || len(ss) != 1 {
		t.Fatalf("Secrets: %v %v", ss, err)
	}
	if n, err := c.RotateSecrets(ctx); err != nil || n < 0 {
		t.Fatalf("RotateSecrets: %d %v", n, err)
	}
	if err := c.DeleteSecret(ctx, "db_password"); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	if _, err := c.CreateToken(ctx, "ci", "operator"); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if ts, err := c.Tokens(ctx); err != nil || len(ts) == 0 {
		t.Fatalf("Tokens: %v %v", ts, err)
	}
	if err := c.RevokeToken(ctx, "ci"); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if err := c.DeletePipeline(ctx, "demo"); err != nil {
		t.Fatalf("DeletePipeline: %v", err)
	}
	if _, err := c.Pipeline(ctx, "demo", 0); !errors.As(err, &se) || se.Code != http.StatusNotFound {
		t.Fatalf("Pipeline after delete: %v, want 404", err)
	}
	if es, err := c.Audit(ctx, 100); err != nil || len(es) == 0 {
		t.Fatalf("Audit: %v %v", es, err)
	}
	// The scheme is the client's too: any case works.
	c.HTTP = &http.Client{Transport: lowerScheme{}}
	if _, err := c.Tokens(ctx); err != nil {
		t.Fatalf("Tokens with a lower-case scheme: %v", err)
	}
}

// lowerScheme sends requests with the Authorization scheme in lower case.
type lowerScheme struct{}

func (lowerScheme) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		r.Header.Set("Authorization", "bearer "+v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestApplyRefusesUnknownExecutor: a definition naming an executor the
// server does not have is a 400 that names the line and the executors it
// has, and is not stored; the runs it makes record their executor, each
// attempt too.
func TestApplyRefusesUnknownExecutor(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	s := newServer(t)
	spec := "name: remote\nsteps:\n  - name: only\n    executor: cluster\n    command: [\"" + bb + "\", \"true\"]\n"
	code, body := s.do("POST", "/api/v1/pipelines", spec)
	if code != http.StatusBadRequest || !strings.Contains(body, `:4: steps[0].executor: \"cluster\" is not an executor of this server; it has process`) {
		t.Fatalf("apply naming executor cluster: %d %s; want 400 naming the line and process", code, body)
	}
	if code, _ := s.do("GET", "/api/v1/pipelines/remote", ""); code != http.StatusNotFound {
		t.Errorf("the refused pipeline is there: %d", code)
	}
	spec = strings.Replace(spec, "cluster", "process", 1)
	if code, body := s.do("POST", "/api/v1/pipelines", spec); code != http.StatusCreated {
		t.Fatalf("apply naming executor process: %d %s", code, body)
	}
	code, body = s.do("POST", "/api/v1/pipelines/remote/runs", "{}")
	if code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	var run api.Run
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	_, body = s.do("GET", "/api/v1/runs/"+run.ID, "")
	var got api.Run
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Executor != "process" || len(got.Steps) != 1 || len(got.Steps[0].Attempts) != 1 || got.Steps[0].Attempts[0].Executor != "process" {
		t.Errorf("run: %s", body)
	}
}
