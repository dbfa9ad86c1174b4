package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/testbin"
	"github.com/baton-dev/baton/internal/vault"
)

// server is the API over a real engine, SQLite file and HTTP listener.
type server struct {
	t   *testing.T
	url string
	st  store.Store
	eng *engine.Engine
}

func newServer(t *testing.T) *server { return newServerWith(t, api.Limits{}) }

// newServerWith serves the API without tokens (as --dev) the way baton
// server does: on a real listener through [api.LimitListener] and
// [api.NewHTTPServer], with the limits given.
func newServerWith(t *testing.T, lim api.Limits) *server {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	vlt := vault.New(st, secret.NewKeyring(secret.GenerateKey()))
	eng, err := engine.New(engine.Config{
		Store: st, Executor: process.New(process.Options{Dir: t.TempDir()}),
		CallbackURL: url, LogFlush: 20 * time.Millisecond, Secrets: vlt,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewHTTPServer(api.New(eng, st, api.Options{Vault: vlt, Limits: lim}), nil, lim)
	go func() { _ = srv.Serve(api.LimitListener(ln, api.DefaultMaxConns)) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = eng.Close(context.Background())
		_ = st.Close()
	})
	return &server{t: t, url: url, st: st, eng: eng}
}

func (s *server) do(method, path, body string, header ...string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if ctype := defaultContentType(method, path); ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// defaultContentType is what the API's own client sends for a request.
func defaultContentType(method, path string) string {
	switch {
	case method == "POST" && strings.HasPrefix(path, "/api/v1/pipelines") && !strings.Contains(strings.TrimPrefix(path, "/api/v1/pipelines"), "/"):
		return "application/yaml"
	case method == "PUT":
		return "application/octet-stream"
	case method == "POST" || method == "PATCH":
		return "application/json"
	}
	return ""
}

func busybox(t *testing.T) string { return testbin.Busybox(t) }

func TestTriggerAndGetRun(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	s := newServer(t)
	spec := `
name: greet
params:
  who: {required: true}
vars:
  who: "{{ .Params.who }}"
steps:
  - name: hello
    command: ["` + bb + `", "sh", "-c", "echo hello $BATON_VAR_who; echo greeted=$BATON_VAR_who >> $BATON_OUTPUT"]
`
	code, body := s.do("POST", "/api/v1/pipelines?filename=greet.yaml", spec)
	if code != http.StatusCreated || !strings.Contains(body, `"revision": 1`) {
		t.Fatalf("apply: %d %s", code, body)
	}
	if code, body = s.do("POST", "/api/v1/pipelines", spec); code != http.StatusOK || !strings.Contains(body, `"created": false`) {
		t.Fatalf("re-apply unchanged: %d %s", code, body)
	}

	// Bad params: 400 naming the param, and no run.
	code, body = s.do("POST", "/api/v1/pipelines/greet/runs", `{"nobody": "x"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "nobody") || !strings.Contains(body, "who") {
		t.Fatalf("bad params: %d %s", code, body)
	}
	if code, body = s.do("POST", "/api/v1/pipelines/greet/runs", `{"who": {"deep": 1}}`); code != http.StatusBadRequest {
		t.Fatalf("object param: %d %s", code, body)
	}
	if code, body = s.do("POST", "/api/v1/pipelines/greet/runs", `{"who": "ada", "who": "s3cret"}`); code != http.StatusBadRequest ||
		!strings.Contains(body, `the params: \"who\" is named twice`) || strings.Contains(body, "s3cret") {
		t.Fatalf("a param given twice: %d %s", code, body)
	}
	if code, body = s.do("GET", "/api/v1/runs", ""); code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Fatalf("runs after rejected triggers: %d %s", code, body)
	}
	if code, _ = s.do("POST", "/api/v1/pipelines/nope/runs", `{}`); code != http.StatusNotFound {
		t.Fatalf("unknown pipeline: %d", code)
	}

	code, body = s.do("POST", "/api/v1/pipelines/greet/runs", `{"who": "ada"}`)
	if code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	var run api.Run
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	if run.URL != "/api/v1/runs/"+run.ID {
		t.Errorf("url = %q", run.URL)
	}

	// Follow the step's logs until it ends: the stream closes by itself.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+run.URL+"/steps/hello/logs?follow=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	resp.Body.Close()
	if len(lines) != 1 || !strings.HasSuffix(lines[0], " stdout hello ada") {
		t.Fatalf("followed logs = %q", lines)
	}

	if _, err := s.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	code, body = s.do("GET", run.URL, "")
	if code != http.StatusOK {
		t.Fatalf("get run: %d %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	if run.Status != store.RunSucceeded || run.Variables["greeted"] != "ada" || len(run.Steps) != 1 || len(run.Steps[0].Attempts) != 1 {
		t.Fatalf("run = %+v", run)
	}
	if code, body = s.do("POST", run.URL+"/cancel", ""); code != http.StatusConflict {
		t.Fatalf("cancel finished run: %d %s", code, body)
	}
	if code, body = s.do("GET", "/api/v1/runs?status=failed", ""); code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Fatalf("filter by status: %d %s", code, body)
	}
	if code, _ = s.do("GET", "/api/v1/runs?status=bogus", ""); code != http.StatusBadRequest {
		t.Fatalf("bad status filter: %d", code)
	}
	// Pages by cursor and time: the one run, then nothing after it.
	if code, body = s.do("GET", "/api/v1/runs?before="+run.ID, ""); code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Fatalf("the page after the only run: %d %s", code, body)
	}
	if code, body = s.do("GET", "/api/v1/runs?before=nosuch", ""); code != http.StatusNotFound || !strings.Contains(body, `no run \"nosuch\"`) {
		t.Fatalf("a cursor of no run: %d %s", code, body)
	}
	if code, body = s.do("GET", "/api/v1/runs?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z", ""); code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Fatalf("runs of a day long ago: %d %s", code, body)
	}
	if code, body = s.do("GET", "/api/v1/runs?since=2000-01-01T00:00:00Z", ""); code != http.StatusOK || !strings.Contains(body, run.ID) {
		t.Fatalf("runs since long ago: %d %s", code, body)
	}
	if code, body = s.do("GET", "/api/v1/runs?since=yesterday", ""); code != http.StatusBadRequest || !strings.Contains(body, "RFC 3339") {
		t.Fatalf("a bad time: %d %s", code, body)
	}
}

func TestApplyRejectsBadSpec(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	code, body := s.do("POST", "/api/v1/pipelines?filename=bad.yaml", "name: bad\nsteps:\n  - name: x\n    comand: [true]\n")
	if code != http.StatusBadRequest || !strings.Contains(body, "bad.yaml:4") || !strings.Contains(body, "comand") {
		t.Fatalf("bad spec: %d %s", code, body)
	}
	if code, body = s.do("GET", "/api/v1/pipelines", ""); strings.TrimSpace(body) != "[]" {
		t.Fatalf("a rejected spec was stored: %d %s", code, body)
	}
}

func TestCallbackErrors(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	s := newServer(t)
	// The step leaves its token where the test can read it, then waits.
	tokenFile := filepath.Join(t.TempDir(), "token")
	spec := `
name: waits
steps:
  - name: s
    secrets: [{name: db_password}]
    command: ["` + bb + `", "sh", "-c", "cat $BATON_TOKEN_FILE > ` + tokenFile + `; sleep 30"]
  - name: other
    secrets: [{name: api_key}]
    command: ["` + bb + `", "true"]
`
	for name, v := range map[string]string{"db_password": "pw-123456", "api_key": "key-123456"} {
		if code, body := s.do("PUT", "/api/v1/secrets/"+name, v); code != http.StatusOK {
			t.Fatalf("set secret: %d %s", code, body)
		}
	}
	if code, body := s.do("POST", "/api/v1/pipelines", spec); code != http.StatusCreated {
		t.Fatalf("apply: %d %s", code, body)
	}
	code, body := s.do("POST", "/api/v1/pipelines/waits/runs", "{}")
	if code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	var run api.Run
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	var token string
	deadline := time.Now().Add(20 * time.Second)
	for token == "" && time.Now().Before(deadline) {
		b, _ := os.ReadFile(tokenFile)
		token = string(b)
		time.Sleep(20 * time.Millisecond)
	}
	if token == "" {
		t.Fatal("the step did not start")
	}
	path := "/api/v1/callbacks/" + run.ID + "/s/1"
	bearer := "Bearer " + token
	cases := []struct {
		name, path, body, auth string
		want                   int
	}{
		{"no token", path, `{"variables": {}}`, "", http.StatusUnauthorized},
		{"bad attempt", "/api/v1/callbacks/" + run.ID + "/s/zero", `{"variables": {}}`, bearer, http.StatusNotFound},
		{"wrong token", path, `{"variables": {"a": "b"}}`, "Bearer x", http.StatusUnauthorized},
		{"another step", "/api/v1/callbacks/" + run.ID + "/other/1", `{"variables": {"a": "b"}}`, bearer, http.StatusUnauthorized},
		{"another run", "/api/v1/callbacks/x" + run.ID + "/s/1", `{"variables": {"a": "b"}}`, bearer, http.StatusUnauthorized},
		{"attempt not started", "/api/v1/callbacks/" + run.ID + "/s/2", `{"variables": {"a": "b"}}`, bearer, http.StatusUnauthorized},
		{"not json", path, `nope`, bearer, http.StatusBadRequest},
		{"bad name", path, `{"variables": {"A=B": "c"}}`, bearer, http.StatusBadRequest},
		{"reserved name", path, `{"variables": {"LD_PRELOAD": "/evil.so"}}`, bearer, http.StatusBadRequest},
		{"duplicate key", path, `{"variables": {"a": "1", "a": "2"}}`, bearer, http.StatusBadRequest},
		{"too large", path, `{"variables": {"a": "` + strings.Repeat("x", 300<<10) + `"}}`, bearer, http.StatusRequestEntityTooLarge},
		{"accepted", path, `{"variables": {"good": "yes"}}`, bearer, http.StatusOK},
		// RFC 7235: the scheme's name is case-insensitive.
		{"lower-case scheme", path, `{"variables": {"lower": "yes"}}`, "bearer " + token, http.StatusOK},
		{"upper-case scheme", path, `{"variables": {"upper": "yes"}}`, "BEARER  " + token, http.StatusOK},
	}
	for _, c := range cases {
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		if code, body := s.do("POST", c.path, c.body, hdr...); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}
	// What curl -d and busybox wget --post-data send without a header is
	// taken too: the token, not the content type, keeps pages out.
	for _, ctype := range []string{"application/x-www-form-urlencoded", "text/plain", ""} {
		if code, body := s.do("POST", path, `{"variables": {"typed": "yes"}}`, "Authorization", bearer, "Content-Type", ctype); code != http.StatusOK {
			t.Errorf("callback with Content-Type %q: %d %s", ctype, code, body)
		}
	}
	// Secret reads: only what the step declares, only with its token.
	secrets := []struct {
		name, path, auth string
		want             int
	}{
		{"declared", path + "/secrets/db_password", bearer, http.StatusOK},
		{"not declared by this step", path + "/secrets/api_key", bearer, http.StatusForbidden},
		{"no token", path + "/secrets/db_password", "", http.StatusUnauthorized},
		{"malformed token", path + "/secrets/db_password", "Bearer not a token", http.StatusUnauthorized},
		{"another step's path", "/api/v1/callbacks/" + run.ID + "/other/1/secrets/api_key", bearer, http.StatusUnauthorized},
		{"another run's path", "/api/v1/callbacks/x" + run.ID + "/s/1/secrets/db_password", bearer, http.StatusUnauthorized},
	}
	for _, c := range secrets {
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		code, body := s.do("GET", c.path, "", hdr...)
		if code != c.want {
			t.Errorf("secret read, %s: %d %s, want %d", c.name, code, body, c.want)
		}
		if c.want == http.StatusOK && body != "pw-123456" {
			t.Errorf("secret read: %q", body)
		}
		if c.want != http.StatusOK && strings.Contains(body, "123456") {
			t.Errorf("secret read, %s: a refusal shows a value: %s", c.name, body)
		}
	}
	a, err := s.st.AttemptGet(context.Background(), run.ID, "s", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"good": "yes", "lower": "yes", "upper": "yes", "typed": "yes"}
	if !maps.Equal(a.Outputs, want) {
		t.Errorf("outputs after the rejected posts = %v, want only %v", a.Outputs, want)
	}
	// Once the attempt ended, its token is stale: 409, and nothing changes.
	if code, body := s.do("POST", "/api/v1/runs/"+run.ID+"/cancel", ""); code != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if _, err := s.eng.Wait(context.Background(), run.ID); err != nil {
		t.Fatal(err)
	}
	if code, body := s.do("POST", path, `{"variables": {"late": "1"}}`, "Authorization", bearer); code != http.StatusConflict {
		t.Errorf("stale attempt: %d %s, want 409", code, body)
	}
	if code, body := s.do("GET", path+"/secrets/db_password", "", "Authorization", bearer); code != http.StatusConflict || strings.Contains(body, "pw-") {
		t.Errorf("secret read after the attempt ended: %d %s, want 409", code, body)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	code, body := s.do("GET", "/api/v1/openapi.json", "")
	if code != http.StatusOK {
		t.Fatalf("openapi: %d", code)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{
		"POST /api/v1/pipelines", "GET /api/v1/pipelines", "GET /api/v1/pipelines/{name}",
		"POST /api/v1/pipelines/{name}/runs", "GET /api/v1/runs", "GET /api/v1/runs/{id}",
		"POST /api/v1/runs/{id}/cancel", "GET /api/v1/runs/{id}/steps/{step}/logs",
		"POST /api/v1/callbacks/{run}/{step}/{attempt}",
	} {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("openapi.json does not document %s", route)
		}
	}
	if code, body = s.do("GET", "/api/v1/nothing", ""); code != http.StatusNotFound || !strings.Contains(body, "openapi.json") {
		t.Errorf("unknown route: %d %s", code, body)
	}
}
