package webui_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/testbin"
	"github.com/baton-dev/baton/internal/vault"
	"github.com/baton-dev/baton/internal/webui"
)

// server is baton's API with the web UI over a real engine (steps run as
// local processes of busybox), a real SQLite file and a real HTTP listener,
// with tokens as baton server has them.
type server struct {
	t   testing.TB
	URL string
	st  store.Store
	eng *engine.Engine
	// tokens by role: viewer, operator, admin.
	tokens map[auth.Role]string
	bb     string
	// now is the UI's clock, which tests may move.
	now func() time.Time
}

type serverOptions struct {
	dev bool
	now func() time.Time
	// logFlush is how often the engine stores new log lines; 0 is 10 ms,
	// -1 the engine's default.
	logFlush time.Duration
}

func newServer(t testing.TB) *server { return newServerWith(t, serverOptions{}) }

func newServerWith(t testing.TB, o serverOptions) *server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ring := secret.NewKeyring(secret.GenerateKey())
	vlt := vault.New(st, ring)
	switch o.logFlush {
	case 0:
		o.logFlush = 10 * time.Millisecond
	case -1:
		o.logFlush = 0
	}
	eng, err := engine.New(engine.Config{
		Store: st, Executor: process.New(process.Options{Dir: t.TempDir()}),
		CallbackURL: base, LogFlush: o.logFlush, Secrets: vlt,
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.now == nil {
		o.now = time.Now
	}
	s := &server{t: t, URL: base, st: st, eng: eng, tokens: map[auth.Role]string{}, bb: testbin.Busybox(t), now: o.now}
	uo := webui.Options{Engine: eng, Store: st, Sealer: ring, Now: func() time.Time { return s.now() },
		Logger: slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	ao := api.Options{Vault: vlt}
	if !o.dev {
		ao.Auth = auth.New(st)
		uo.Auth = ao.Auth
		for _, role := range []auth.Role{auth.Viewer, auth.Operator, auth.Admin} {
			tok, _, err := auth.Create(ctx, st, "ui-"+string(role), role, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			s.tokens[role] = tok
		}
	}
	ui, err := webui.New(uo)
	if err != nil {
		t.Fatal(err)
	}
	ao.UI = ui
	srv := api.NewHTTPServer(api.New(eng, st, ao), nil, api.Limits{})
	go func() { _ = srv.Serve(api.LimitListener(ln, api.DefaultMaxConns)) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = eng.Close(context.Background())
		_ = st.Close()
	})
	return s
}

// apply applies a pipeline through the engine.
func (s *server) apply(spec string) {
	s.t.Helper()
	if _, _, err := s.eng.Apply(context.Background(), "p.yaml", []byte(spec)); err != nil {
		s.t.Fatalf("apply: %v", err)
	}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them, and sends what a browser sends.
type browser struct {
	t   testing.TB
	s   *server
	c   *http.Client
	jar *cookiejar.Jar
}

func (s *server) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, s: s, jar: jar, c: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signedIn is a browser signed in with the token of role.
func (s *server) signedIn(role auth.Role) *browser {
	b := s.browser()
	code, _, h := b.post("/signin", url.Values{"token": {s.tokens[role]}, "next": {"/runs"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/runs" {
		s.t.Fatalf("sign in as %s: %d %v", role, code, h)
	}
	return b
}

// get fetches a page as a browser navigating there.
func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.s.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// post sends a form the way the UI's pages do; with csrf the page's CSRF
// token is added.
func (b *browser) post(path string, form url.Values, header ...string) (int, string, http.Header) {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

func (b *browser) do(req *http.Request) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token on a page the browser loads.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body, _ := b.get(path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no csrf token on %s", path)
	}
	return m[1]
}

// waitRun waits for a run to end.
func (s *server) waitRun(id string) *store.RunRow {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run, err := s.eng.Wait(ctx, id)
	if err != nil {
		s.t.Fatalf("wait for run %s: %v", id, err)
	}
	return run
}

// runIDFrom is the run a redirect points at.
func runIDFrom(t testing.TB, h http.Header) string {
	t.Helper()
	loc := h.Get("Location")
	id, ok := strings.CutPrefix(loc, "/runs/")
	if !ok || id == "" {
		t.Fatalf("redirect to %q, not to a run", loc)
	}
	return id
}

func submit(pipeline string) *engine.SubmitParams { return &engine.SubmitParams{Pipeline: pipeline} }

// logWriter sends the UI's log to the test's.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitStep waits until a run's step has a status.
func (s *server) waitStep(runID, step string, status store.StepStatus) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		steps, err := s.st.StepList(context.Background(), runID)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, st := range steps {
			if st.Name == step && st.Status == status {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("step %s of run %s never %s", step, runID, status)
}

// waitFor polls cond until it holds, for at most a minute.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
