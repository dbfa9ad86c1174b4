package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

func TestSignInMakesASessionCookie(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := s.browser()

	// Signed out, every page sends to the sign-in page, remembering where.
	for _, path := range []string{"/runs", "/runs/r-1", "/pipelines", "/health", "/audit"} {
		code, _, h := b.get(path)
		if code != http.StatusSeeOther || h.Get("Location") != "/signin?next="+path {
			t.Fatalf("GET %s signed out: %d %q", path, code, h.Get("Location"))
		}
	}
	// A wrong token: the page again, 401, no cookie, the token not echoed.
	code, body, h := b.post("/signin", url.Values{"token": {"baton_<b>wrong</b>"}})
	if code != http.StatusUnauthorized || !strings.Contains(body, "not valid") || h.Get("Set-Cookie") != "" || strings.Contains(body, "wrong") {
		t.Fatalf("bad token: %d %v\n%s", code, h, body)
	}
	// The right one: a cookie that scripts cannot read and other sites do
	// not send, then the page asked for.
	code, _, h = b.post("/signin", url.Values{"token": {s.tokens[auth.Viewer]}, "next": {"/health"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/health" {
		t.Fatalf("sign in: %d %v", code, h)
	}
	cookie := h.Get("Set-Cookie")
	for _, want := range []string{"baton_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Fatalf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Fatalf("cookie over plain HTTP marked Secure: %q", cookie)
	}
	if strings.Contains(cookie, s.tokens[auth.Viewer]) {
		t.Fatal("the cookie carries the API token itself")
	}
	code, body, _ = b.get("/runs")
	if code != http.StatusOK || !strings.Contains(body, "ui-viewer · viewer") {
		t.Fatalf("runs signed in: %d\n%s", code, body)
	}
	// The sign-in is audited.
	entries, err := s.st.AuditList(context.Background(), &store.AuditListParams{})
	if err != nil || len(entries) == 0 || entries[0].Action != "ui.signin" || entries[0].Actor != "ui-viewer" {
		t.Fatalf("audit: %v %+v", err, entries)
	}
	// Sign out needs the CSRF token, then ends the session.
	if code, _, _ = b.post("/signout", nil); code != http.StatusForbidden {
		t.Fatalf("sign out without csrf: %d", code)
	}
	if code, _, _ = b.post("/signout", url.Values{"csrf": {b.csrf("/runs")}}); code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", code)
	}
	if code, _, _ = b.get("/runs"); code != http.StatusSeeOther {
		t.Fatalf("runs after sign out: %d", code)
	}
}

func TestSessionEnds(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	s := newServerWith(t, serverOptions{now: func() time.Time { return clock() }})

	// Revoking the token ends its sessions at once.
	b := s.signedIn(auth.Operator)
	if code, _, _ := b.get("/runs"); code != http.StatusOK {
		t.Fatalf("before revoke: %d", code)
	}
	if err := s.st.TokenRevoke(context.Background(), "ui-operator", time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := b.get("/runs"); code != http.StatusSeeOther {
		t.Fatalf("after revoke: %d", code)
	}

	// A session lasts 12 hours.
	b = s.signedIn(auth.Viewer)
	now = now.Add(11 * time.Hour)
	if code, _, _ := b.get("/runs"); code != http.StatusOK {
		t.Fatalf("at 11h: %d", code)
	}
	now = now.Add(2 * time.Hour)
	if code, _, _ := b.get("/runs"); code != http.StatusSeeOther {
		t.Fatalf("at 13h: %d", code)
	}
}

func TestForgedSessionsAreRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := s.signedIn(auth.Admin)
	u, _ := url.Parse(s.URL)
	var good string
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "baton_session" {
			good = c.Value
		}
	}
	if good == "" {
		t.Fatal("no session cookie")
	}
	flip := []byte(good)
	flip[len(flip)/2] ^= 1
	other := newServer(t).signedIn(auth.Admin) // sealed with another server's key
	var foreign string
	ou, _ := url.Parse(other.s.URL)
	for _, c := range other.jar.Cookies(ou) {
		foreign = c.Value
	}
	for name, value := range map[string]string{
		"tampered":  string(flip),
		"other key": foreign,
		"garbage":   "not-base64!!",
		"empty":     "",
		"huge":      strings.Repeat("A", 5000),
		"api token": s.tokens[auth.Admin],
	} {
		req, _ := http.NewRequest("GET", s.URL+"/runs", nil)
		req.AddCookie(&http.Cookie{Name: "baton_session", Value: value})
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s cookie: %d, want the sign-in redirect", name, resp.StatusCode)
		}
	}
}

func TestRedirectAfterSignInStaysHere(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/runs\r\nSet-Cookie: x=1"} {
		b := s.browser()
		code, _, h := b.post("/signin", url.Values{"token": {s.tokens[auth.Viewer]}, "next": {next}})
		if code != http.StatusSeeOther || h.Get("Location") != "/runs" {
			t.Errorf("next %q: %d to %q, want /runs", next, code, h.Get("Location"))
		}
	}
}

// inlineCode finds what a strict CSP would block or what could run:
// script elements without src, event handler attributes, style attributes,
// javascript: URLs.
var inlineCode = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>[^<]|<script>|<[^>]*\son[a-z]+\s*=|<[^>]*\sstyle\s*=|javascript:`)

func TestEveryPageHasAStrictPolicyAndNoInlineCode(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.apply(`
name: hello
params:
  who: {default: world}
steps:
  - name: a
    command: ["` + s.bb + `", "echo", "hi"]
  - name: b
    command: ["` + s.bb + `", "echo", "there"]
`)
	b := s.signedIn(auth.Admin)
	code, _, h := b.post("/pipelines/hello/runs", url.Values{"csrf": {b.csrf("/pipelines/hello")}})
	if code != http.StatusSeeOther {
		t.Fatalf("trigger: %d", code)
	}
	id := runIDFrom(t, h)
	s.waitRun(id)
	for _, path := range []string{"/runs", "/runs/" + id, "/runs/" + id + "?step=b", "/pipelines", "/pipelines/hello", "/health", "/audit", "/signin", "/nowhere"} {
		code, body, h := b.get(path)
		if code >= 500 {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP allows unsafe: %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
		if m := inlineCode.FindString(body); m != "" {
			t.Errorf("%s: inline code %q", path, m)
		}
	}
}

func TestDevModeOpensTheUIOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, serverOptions{dev: true})
	b := s.browser()
	code, page, _ := b.get("/runs")
	if code != http.StatusOK || !strings.Contains(page, "dev · admin") || strings.Contains(page, `action="/signout"`) {
		t.Fatalf("dev runs page: %d\n%s", code, page)
	}
	// A page under another name (DNS rebinding) gets nothing.
	req, _ := http.NewRequest("GET", s.URL+"/runs", nil)
	req.Host = "rebound.example:8080"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Host: %d", resp.StatusCode)
	}
	// Forms still need the CSRF token and this origin.
	s.apply(gated(s.bb, t.TempDir()+"/gate"))
	if code, _, _ := b.post("/pipelines/gated/runs", url.Values{}); code != http.StatusForbidden {
		t.Fatalf("dev form without csrf: %d", code)
	}
	if code, _, _ := b.post("/pipelines/gated/runs", url.Values{"csrf": {b.csrf("/pipelines/gated")}}, "Origin", "http://rebound.example"); code != http.StatusForbidden {
		t.Fatalf("dev form from another origin: %d", code)
	}
}

func TestUnknownAPIPathsStayJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	resp, err := http.Get(s.URL + "/api/v1/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("unknown API path: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, err = http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with the UI mounted: %d", resp.StatusCode)
	}
}
