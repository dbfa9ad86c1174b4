package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// strictCSP is the policy issue 13 asks of the UI.
const strictCSP = "default-src 'none'; script-src 'self'"

// site serves pages and scripts from a map, each with the given CSP ("" for
// none), and records the forms posted to /submit.
type site struct {
	csp   string
	files map[string]string

	mu    sync.Mutex
	posts []string
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.csp != "" {
		w.Header().Set("Content-Security-Policy", s.csp)
	}
	if r.URL.Path == "/submit" && r.Method == http.MethodPost {
		v := r.PostFormValue("param")
		s.mu.Lock()
		s.posts = append(s.posts, v)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The value goes back as text only in this test's own page.
		_, _ = w.Write([]byte(`<!doctype html><title>done</title><p id="result">posted ` + strconv.Itoa(len(v)) + ` bytes</p>`))
		return
	}
	if r.URL.Path == "/favicon.ico" {
		// Chromium asks for it whenever a page names no icon, at a time
		// of its own choosing; a 404 would be a console error.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	ctype := "text/html; charset=utf-8"
	switch {
	case strings.HasSuffix(r.URL.Path, ".js"):
		ctype = "text/javascript; charset=utf-8"
	case strings.HasSuffix(r.URL.Path, ".css"):
		ctype = "text/css; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write([]byte(body))
}

func (s *site) submitted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

func serve(t *testing.T, s *site) string {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

// cspPage has one script from a file and one inline script; each marks its
// own paragraph.
const cspPage = `<!doctype html><html><head><title>csp</title></head><body>
<p id="file">untouched</p>
<p id="inline">untouched</p>
<script src="/app.js"></script>
<script>document.getElementById("inline").textContent = "inline ran";</script>
</body></html>`

const cspScript = `document.getElementById("file").textContent = "file ran";`

// loaded waits until the document in ctx's tab has finished loading, so that
// every script it has has run or been refused.
func loaded(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === "complete"`)); err != nil {
		t.Fatalf("wait for the page to load: %v", err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func cspViolations(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if strings.Contains(m, "Content Security Policy") {
			out = append(out, m)
		}
	}
	return out
}

// A strict CSP lets the script file run, refuses the inline script, and the
// refusal reaches the test. The same page without the policy runs both,
// which shows that the refusal is the policy's doing.
func TestCSPViolationIsCollected(t *testing.T) {
	b := Start(t)
	files := map[string]string{"/": cspPage, "/app.js": cspScript}

	t.Run("strict", func(t *testing.T) {
		url := serve(t, &site{csp: strictCSP, files: files})
		tab := b.NewTab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		if err := WaitText(tab, "#file", "file ran"); err != nil {
			t.Fatal(err)
		}
		loaded(t, tab)
		if got := text(t, tab, "#inline"); got != "untouched" {
			t.Errorf("inline script ran under %q: #inline = %q", strictCSP, got)
		}
		errs := b.ConsoleErrors()
		v := cspViolations(errs)
		if len(v) == 0 {
			t.Fatalf("no CSP violation collected; console errors: %q", errs)
		}
		if !strings.Contains(v[0], "script-src 'self'") {
			t.Errorf("violation does not name the directive: %q", v[0])
		}
		if len(v) != len(errs) {
			t.Errorf("console errors besides the CSP violation: %q", errs)
		}
	})

	t.Run("no policy", func(t *testing.T) {
		before := len(b.ConsoleErrors())
		url := serve(t, &site{files: files})
		tab := b.NewTab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		if err := WaitText(tab, "#inline", "inline ran"); err != nil {
			t.Fatal(err)
		}
		if got := text(t, tab, "#file"); got != "file ran" {
			t.Errorf("#file = %q", got)
		}
		if errs := b.ConsoleErrors()[before:]; len(errs) != 0 {
			t.Errorf("console errors without a policy: %q", errs)
		}
	})
}

// A click on the button posts the form to the server, and the tab shows the
// answer.
func TestClickSubmitsForm(t *testing.T) {
	b := Start(t)
	s := &site{csp: strictCSP, files: map[string]string{"/": `<!doctype html><title>form</title>
<form method="post" action="/submit">
<input id="param" name="param">
<button id="go" type="submit">Run</button>
</form>`}}
	url := serve(t, s)
	tab := b.NewTab(t)
	const typed = "hello <b>world</b>"
	if err := chromedp.Do(tab,
		chromedp.Navigate(url),
		chromedp.SendKeys(chromedp.CSS("#param"), typed),
		chromedp.Click(chromedp.CSS("#go")),
	); err != nil {
		t.Fatal(err)
	}
	if err := WaitText(tab, "#result", "posted "+strconv.Itoa(len(typed))+" bytes"); err != nil {
		t.Fatal(err)
	}
	if got := s.submitted(); len(got) != 1 || got[0] != typed {
		t.Errorf("server got %q, want one post of %q", got, typed)
	}
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// A page asking for anything off loopback reaches the test's sink, not the
// network: by name over http and https (names do not even resolve), so the
// request fails and shows as a console error.
func TestOutsideRequestsGoNowhere(t *testing.T) {
	b := Start(t)
	url := serve(t, &site{files: map[string]string{"/": `<!doctype html><title>outside</title>
<img id="plain" src="http://outside.invalid/plain.png">
<img id="tls" src="https://outside.invalid/tls.png">`}})
	tab := b.NewTab(t)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	loaded(t, tab)
	want := []string{"GET http://outside.invalid/plain.png", "CONNECT outside.invalid:443"}
	deadline := time.Now().Add(30 * time.Second)
	for !containsAll(b.OutsideRequests(), want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := b.OutsideRequests(); !containsAll(got, want) {
		t.Fatalf("outside requests = %q, want %q among them", got, want)
	}
	for _, id := range []string{"plain", "tls"} {
		w, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.getElementById("`+id+`").naturalWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if w != 0 {
			t.Errorf("image %s loaded from outside (%d px wide)", id, w)
		}
	}
	if errs := b.ConsoleErrors(); len(errs) == 0 {
		t.Error("failed outside loads left no console error")
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// console.error, a failed console.assert and an uncaught exception are all
// collected; console.log and a passing assert are not.
func TestConsoleErrorsAreCollected(t *testing.T) {
	b := Start(t)
	url := serve(t, &site{csp: strictCSP, files: map[string]string{
		"/": `<!doctype html><title>console</title><script src="/app.js"></script>`,
		"/app.js": `console.log("just talk");
console.assert(true, "holds");
console.error("broken", 42);
console.assert(false, "does not hold");
throw new Error("uncaught boom");`,
	}})
	tab := b.NewTab(t)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	loaded(t, tab)
	var errs []string
	deadline := time.Now().Add(30 * time.Second)
	for len(errs) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		errs = b.ConsoleErrors()
	}
	want := []string{"console.error: broken 42", "console.assert: does not hold", "uncaught boom"}
	if len(errs) != len(want) {
		t.Fatalf("console errors = %q, want %d", errs, len(want))
	}
	for i, w := range want {
		if !strings.Contains(errs[i], w) {
			t.Errorf("console error %d = %q, want it to contain %q", i, errs[i], w)
		}
	}
}

// WaitText sees text that a script writes later, and without it says what
// the element shows.
func TestWaitText(t *testing.T) {
	b := Start(t)
	url := serve(t, &site{csp: strictCSP, files: map[string]string{
		"/":       `<!doctype html><title>wait</title><p id="status">queued</p><script src="/app.js"></script>`,
		"/app.js": `setTimeout(() => { document.getElementById("status").textContent = "running step 2"; }, 300);`,
	}})
	tab := b.NewTab(t)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	if err := WaitText(tab, "#status", "step 2"); err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(tab, 500*time.Millisecond)
	defer cancel()
	err := WaitText(short, "#status", "succeeded")
	if err == nil || !strings.Contains(err.Error(), `shows "running step 2"`) {
		t.Errorf("WaitText for absent text: %v", err)
	}
	short2, cancel2 := context.WithTimeout(tab, 500*time.Millisecond)
	defer cancel2()
	err = WaitText(short2, "#nothing", "x")
	if err == nil || !strings.Contains(err.Error(), "no element matches") {
		t.Errorf("WaitText for an absent element: %v", err)
	}
}

// Screenshots cover the whole page, at desktop and at phone width, and land
// in $BATON_UI_SCREENSHOTS.
func TestScreenshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ui")
	t.Setenv(ScreenshotsEnv, dir)
	b := Start(t)
	url := serve(t, &site{csp: strictCSP + "; style-src 'self'", files: map[string]string{
		"/": `<!doctype html><html><head><meta name="viewport" content="width=device-width">
<link rel="stylesheet" href="/s.css"><title>shot</title></head><body><div id="tall">tall</div></body></html>`,
		"/s.css": `body { margin: 0 } #tall { height: 2000px; background: #3a6 }`,
	}})
	tab := b.NewTab(t)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	loaded(t, tab)
	Screenshot(t, tab, "desktop")
	MobileScreenshot(t, tab, "mobile")
	for name, width := range map[string]int{"desktop": Width, "mobile": MobileWidth} {
		data, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s.png: %v", name, err)
		}
		if cfg.Width != width || cfg.Height < 2000 {
			t.Errorf("%s.png is %dx%d, want %d wide and the whole 2000 px page", name, cfg.Width, cfg.Height, width)
		}
	}
	// Back at desktop size after the phone.
	w, err := chromedp.Run(tab, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if w != Width {
		t.Errorf("after MobileScreenshot the tab is %d wide, want %d", w, Width)
	}
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// Once the test that started it ends, none of the browser's processes runs.
func TestStopLeavesNoProcess(t *testing.T) {
	var dir string
	var pid int
	t.Run("browse", func(t *testing.T) {
		b := Start(t)
		dir = b.root
		pid = chromedp.FromContext(b.ctx).Browser.Process().Pid
		url := serve(t, &site{files: map[string]string{"/": `<!doctype html><title>x</title><p>x</p>`}})
		tab := b.NewTab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		// The check below must be able to see the processes it looks for.
		running := processesUsing(dir)
		if !slices.Contains(running, pid) || len(running) < 2 {
			t.Fatalf("processes using the profile = %v, want the browser %d and its children", running, pid)
		}
	})
	if left := processesUsing(dir); len(left) != 0 {
		t.Errorf("processes left after the test: %v", left)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if bytes.Contains(cmdline, []byte(dir)) {
			t.Errorf("browser process %d still runs", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("browser directory %s not removed: %v", dir, err)
	}
}

// WebRTC, the one way round the proxy without a switch to close it, starts
// held to proxied traffic by the seeded profile.
func TestWebRTCHeldToProxy(t *testing.T) {
	b := Start(t)
	tab := b.NewTab(t)
	if err := chromedp.Do(tab, chromedp.Navigate("chrome://prefs-internals")); err != nil {
		t.Fatal(err)
	}
	raw, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	var prefs struct {
		WebRTC struct {
			Policy struct {
				Value string `json:"value"`
			} `json:"ip_handling_policy"`
		} `json:"webrtc"`
	}
	if err := json.Unmarshal([]byte(raw), &prefs); err != nil {
		t.Fatalf("chrome://prefs-internals is no JSON: %v", err)
	}
	if got := prefs.WebRTC.Policy.Value; got != "disable_non_proxied_udp" {
		t.Errorf("webrtc.ip_handling_policy = %q, want disable_non_proxied_udp", got)
	}
}

// BenchmarkStart measures a launch of the browser to its first tab, the
// cost every browser test pays once.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		br, err := launch(b)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		br.close()
		b.StartTimer()
	}
}
