package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Firefox is a headless Firefox driven over WebDriver BiDi, the protocol
// Firefox speaks (chromedp speaks only Chrome's). It is enough to load a
// page and evaluate script in it: the UI's tests use it to show that what
// they prove in Chromium holds in Firefox too.
type Firefox struct {
	conn *websocket.Conn
	ctx  string // the browsing context (the tab)

	mu      sync.Mutex
	next    int
	waiting map[int]chan bidiReply
}

type bidiReply struct {
	Type    string          `json:"type"`
	ID      int             `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// firefoxInstall is how to get what [StartFirefox] looks for.
const firefoxInstall = "DEBIAN_FRONTEND=noninteractive apt-get install -y firefox-esr"

// listening is what Firefox prints once BiDi answers.
var listening = regexp.MustCompile(`WebDriver BiDi listening on (ws://[0-9.:]+)`)

// StartFirefox starts Debian's Firefox ESR headless with a fresh profile
// under t.TempDir(), every request that is not for loopback sent to a sink,
// and opens a BiDi session; it is stopped, with every process it started,
// when t ends. Without Firefox t is skipped, unless BATON_TEST_FIREFOX=1.
func StartFirefox(t testing.TB) *Firefox {
	t.Helper()
	bin := ""
	for _, name := range []string{os.Getenv("BATON_TEST_FIREFOX_BIN"), "/usr/bin/firefox-esr", "firefox-esr", "firefox"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("BATON_TEST_FIREFOX") == "1" {
			t.Fatal("firefox is missing: " + firefoxInstall)
		}
		t.Skip("firefox is missing: " + firefoxInstall)
	}
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	host, port, _ := splitHostPort(s.addr())
	// Quiet and closed: no updates, telemetry, studies or first-run pages,
	// and every request off loopback to the sink.
	prefs := fmt.Sprintf(`user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", %q);
user_pref("network.proxy.http_port", %s);
user_pref("network.proxy.ssl", %q);
user_pref("network.proxy.ssl_port", %s);
user_pref("network.proxy.no_proxies_on", "127.0.0.1,localhost");
user_pref("network.proxy.allow_hijacking_localhost", false);
user_pref("app.update.disabledForTesting", true);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("app.normandy.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
`, host, port, host, port)
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port=0", "about:blank")
	cmd.Env = []string{"HOME=" + dir, "TMPDIR=" + dir, "TZ=UTC", "MOZ_CRASHREPORTER_DISABLE=1", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &tail{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start firefox: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		for range 50 {
			left := processesUsing(dir)
			if len(left) == 0 {
				return
			}
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("firefox processes left running: %v", processesUsing(dir))
	})
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			_, _ = out.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case url <- m[1]:
				default:
				}
			}
		}
	}()
	var ws string
	select {
	case ws = <-url:
	case <-time.After(90 * time.Second):
		t.Fatalf("firefox did not start BiDi within 90 s; it printed:\n%s", out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, ws+"/session", nil)
	if err != nil {
		t.Fatalf("connect to firefox: %v", err)
	}
	conn.SetReadLimit(64 << 20)
	f := &Firefox{conn: conn, waiting: make(map[int]chan bidiReply)}
	go f.read()
	t.Cleanup(func() { _ = conn.CloseNow() })
	if _, err := f.call("session.new", map[string]any{"capabilities": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	tree, err := f.call("browsingContext.getTree", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	var contexts struct {
		Contexts []struct{ Context string } `json:"contexts"`
	}
	if err := json.Unmarshal(tree, &contexts); err != nil || len(contexts.Contexts) == 0 {
		t.Fatalf("firefox has no tab: %v %s", err, tree)
	}
	f.ctx = contexts.Contexts[0].Context
	return f
}

func splitHostPort(addr string) (string, string, error) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i], addr[i+1:], nil
		}
	}
	return "", "", errors.New("no port")
}

func (f *Firefox) read() {
	for {
		_, data, err := f.conn.Read(context.Background())
		if err != nil {
			f.mu.Lock()
			for id, ch := range f.waiting {
				ch <- bidiReply{Type: "error", Error: "connection closed", Message: err.Error()}
				delete(f.waiting, id)
			}
			f.mu.Unlock()
			return
		}
		var r bidiReply
		if json.Unmarshal(data, &r) != nil || r.ID == 0 {
			continue // an event
		}
		f.mu.Lock()
		ch := f.waiting[r.ID]
		delete(f.waiting, r.ID)
		f.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// call sends one BiDi command and returns its result.
func (f *Firefox) call(method string, params any) (json.RawMessage, error) {
	f.mu.Lock()
	f.next++
	id := f.next
	ch := make(chan bidiReply, 1)
	f.waiting[id] = ch
	f.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), TabTimeout)
	defer cancel()
	if err := f.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, fmt.Errorf("firefox %s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Type == "error" {
			return nil, fmt.Errorf("firefox %s: %s: %s", method, r.Error, r.Message)
		}
		return r.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("firefox %s: no answer within %s", method, TabTimeout)
	}
}

// Navigate loads url in the tab and waits until it has loaded.
func (f *Firefox) Navigate(url string) error {
	_, err := f.call("browsingContext.navigate", map[string]any{"context": f.ctx, "url": url, "wait": "complete"})
	return err
}

// Eval evaluates a JavaScript expression in the page and returns its
// value as JSON (strings, numbers, booleans, null).
func (f *Firefox) Eval(expr string) (any, error) {
	res, err := f.call("script.evaluate", map[string]any{
		"expression": expr, "target": map[string]any{"context": f.ctx}, "awaitPromise": true,
	})
	if err != nil {
		return nil, err
	}
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	if r.ExceptionDetails != nil {
		return nil, fmt.Errorf("firefox: script threw: %s", r.ExceptionDetails.Text)
	}
	return r.Result.Value, nil
}

// WaitTrue evaluates expr until it is true, for up to TabTimeout. A script
// that throws (the page may be between two loads) counts as not yet.
func (f *Firefox) WaitTrue(expr string) error {
	deadline := time.Now().Add(TabTimeout)
	var last any
	var lastErr error
	for time.Now().Before(deadline) {
		v, err := f.Eval(expr)
		if err == nil && v == true {
			return nil
		}
		last, lastErr = v, err
		time.Sleep(50 * time.Millisecond)
	}
	if lastErr != nil {
		return fmt.Errorf("firefox: %s not true after %s: %w", expr, TabTimeout, lastErr)
	}
	return fmt.Errorf("firefox: %s still %v after %s", expr, last, TabTimeout)
}
