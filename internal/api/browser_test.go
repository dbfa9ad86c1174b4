package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
)

// send makes one request with exactly the headers given (Host among them),
// as a browser or an attacker would, and returns the status and the error
// message of a JSON error body.
func (s *server) send(method, path, body string, header map[string]string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var e api.Error
		if err := json.Unmarshal(data, &e); err != nil || e.Error == "" {
			s.t.Fatalf("%s %s: %d with a body that is not a JSON error: %q", method, path, resp.StatusCode, data)
		}
		return resp.StatusCode, e.Error
	}
	return resp.StatusCode, string(data)
}

// nothingChanged fails unless the store holds no pipeline and no run.
func nothingChanged(t *testing.T, st store.Store, what string) {
	t.Helper()
	ps, err := st.PipelineList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := st.RunList(context.Background(), &store.RunListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 0 || len(rs) != 0 {
		t.Fatalf("%s: the store changed: %d pipelines, %d runs", what, len(ps), len(rs))
	}
}

// TestDevRefusesWebPages replays what a web page can make a browser send to
// baton server --dev (no tokens): simple cross-site POSTs, and requests
// after DNS rebinding. None may change anything.
func TestDevRefusesWebPages(t *testing.T) {
	t.Parallel()
	s := newServer(t) // no tokens, as --dev
	u, _ := url.Parse(s.url)
	host := u.Host
	spec := "name: pwn\nsteps:\n  - name: x\n    command: [\"true\"]\n"
	cases := []struct {
		name         string
		method, path string
		header       map[string]string
		want         int
		mention      string
	}{
		// A form or fetch(no-cors) can send these three types anywhere.
		{"text/plain apply", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "text/plain"}, 415, "Content-Type"},
		{"form apply", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "Content-Type"},
		{"multipart apply", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 415, "Content-Type"},
		{"no type apply", "POST", "/api/v1/pipelines", nil, 415, "Content-Type"},
		// Browsers say where a request comes from.
		{"cross-site fetch", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "application/yaml", "Sec-Fetch-Site": "cross-site"}, 403, "cross-site"},
		{"same-site fetch", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "application/yaml", "Sec-Fetch-Site": "same-site"}, 403, "cross-site"},
		{"foreign origin", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "application/yaml", "Origin": "http://evil.example"}, 403, "Origin"},
		{"null origin", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "application/yaml", "Origin": "null"}, 403, "Origin"},
		{"foreign origin, same port", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "application/yaml", "Origin": "http://evil.example:" + u.Port()}, 403, "Origin"},
		{"cross-site read", "GET", "/api/v1/runs", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-site"},
		// DNS rebinding: same origin to the browser, a foreign Host to us.
		{"rebound apply", "POST", "/api/v1/pipelines", map[string]string{"Content-Type": "application/yaml", "Host": "evil.example:" + u.Port(), "Origin": "http://evil.example:" + u.Port(), "Sec-Fetch-Site": "same-origin"}, 403, "loopback"},
		{"rebound read", "GET", "/api/v1/runs", map[string]string{"Host": "evil.example:" + u.Port()}, 403, "loopback"},
		{"rebound health", "GET", "/healthz", map[string]string{"Host": "evil.example"}, 403, "loopback"},
		{"private address host", "GET", "/api/v1/runs", map[string]string{"Host": "192.168.1.5:" + u.Port()}, 403, "loopback"},
	}
	for _, c := range cases {
		code, msg := s.send(c.method, c.path, spec, c.header)
		if code != c.want || !strings.Contains(msg, c.mention) {
			t.Errorf("%s: %d %q, want %d mentioning %q", c.name, code, msg, c.want, c.mention)
		}
	}
	nothingChanged(t, s.st, "after the page's requests")

	// The same page cannot start a run either, of a pipeline that exists.
	if code, body := s.do("POST", "/api/v1/pipelines", spec); code != http.StatusCreated {
		t.Fatalf("apply from the CLI: %d %s", code, body)
	}
	for _, h := range []map[string]string{
		{"Content-Type": "text/plain"},
		{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
		{"Content-Type": "application/json", "Host": "attacker.test"},
	} {
		if code, msg := s.send("POST", "/api/v1/pipelines/pwn/runs", "{}", h); code/100 != 4 {
			t.Errorf("run with %v: %d %s, want a refusal", h, code, msg)
		}
	}
	if rs, _ := s.st.RunList(context.Background(), &store.RunListParams{}); len(rs) != 0 {
		t.Fatalf("a page started %d runs", len(rs))
	}

	// What the CLI and a user's browser on the same origin send still works,
	// on every loopback name.
	for _, h := range []map[string]string{
		{"Content-Type": "application/json"},
		{"Content-Type": "application/json; charset=utf-8", "Host": "localhost:" + u.Port()},
		{"Content-Type": "application/json", "Host": "[::1]:" + u.Port()},
		{"Content-Type": "application/json", "Host": "127.0.0.2"},
		{"Content-Type": "application/json", "Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"},
	} {
		if code, msg := s.send("POST", "/api/v1/pipelines/pwn/runs", "{}", h); code != http.StatusAccepted {
			t.Errorf("run with %v: %d %s, want 202", h, code, msg)
		}
	}
	// Public reads stay readable from anywhere; the callbacks answer steps
	// whatever Host they use (host.docker.internal, a bridge address).
	if code, msg := s.send("GET", "/healthz", "", map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusOK {
		t.Errorf("cross-site health: %d %s", code, msg)
	}
	if code, msg := s.send("POST", "/api/v1/callbacks/r/s/1", `{"variables": {}}`, map[string]string{"Host": "host.docker.internal:" + u.Port()}); code != http.StatusUnauthorized {
		t.Errorf("callback with a container's Host: %d %s, want 401 (the token, not the Host, decides)", code, msg)
	}
}

// TestTokensDoNotLetPagesIn checks that with tokens required the browser
// checks hold too: a page cannot use a token the browser does not send,
// and a request a browser marks cross-site is refused even with one.
func TestTokensDoNotLetPagesIn(t *testing.T) {
	t.Parallel()
	s, tokens := securedServer(t)
	admin := "Bearer " + tokens["admin"]
	for _, h := range []map[string]string{
		{"Authorization": admin, "Content-Type": "application/yaml", "Sec-Fetch-Site": "cross-site"},
		{"Authorization": admin, "Content-Type": "application/yaml", "Origin": "https://evil.example"},
	} {
		if code, msg := s.send("POST", "/api/v1/pipelines", demoSpec, h); code != http.StatusForbidden || !strings.Contains(msg, "refused") {
			t.Errorf("apply with %v: %d %q, want 403", h, code, msg)
		}
	}
	if code, msg := s.send("POST", "/api/v1/pipelines", demoSpec, map[string]string{"Authorization": admin, "Content-Type": "text/plain"}); code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain apply with a token: %d %q, want 415", code, msg)
	}
	// Without --dev, any Host is served: the token is what counts.
	if code, msg := s.send("POST", "/api/v1/pipelines", demoSpec, map[string]string{"Authorization": admin, "Content-Type": "application/yaml", "Host": "baton.example"}); code != http.StatusCreated {
		t.Errorf("apply with a token and a proxy's Host: %d %q, want 201", code, msg)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "localhost:8080": true, "LOCALHOST:1": true, "localhost.": true,
		"app.localhost:3000": true, "127.0.0.1": true, "127.0.0.1:8080": true, "127.255.0.9:1": true,
		"[::1]": true, "[::1]:8080": true, "[::ffff:127.0.0.1]:80": true,
		"": false, "evil.example": false, "evil.example:8080": false, "localhost.evil.example": false,
		"127.0.0.1.nip.io": false, "10.0.0.1:8080": false, "0.0.0.0:8080": false, "[::]:8080": false,
		"localhost:": false, "localhost:http": false, "[fe80::1%25lo]:80": false, "127.1": false,
		"evillocalhost": false,
	} {
		if got := api.IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzIsLoopbackHost(f *testing.F) {
	for _, seed := range []string{"localhost:8080", "127.0.0.1", "[::1]:80", "evil.example", "", "[", "::1", "a.localhost"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !api.IsLoopbackHost(host) {
			return
		}
		// Whatever passes names loopback: localhost, or a loopback address.
		h := strings.ToLower(host)
		if !strings.Contains(h, "localhost") && !strings.Contains(h, "127.") && !strings.Contains(h, "::1") && !strings.Contains(h, "::ffff:7f") {
			t.Fatalf("IsLoopbackHost(%q) = true", host)
		}
	})
}
