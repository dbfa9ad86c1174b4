package stepwrap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/stepwrap"
	"github.com/baton-dev/baton/internal/testbin"
)

const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// callback is a real HTTP server standing in for baton's callback: it
// answers the statuses in script in turn (then 200), and records what it
// was sent.
type callback struct {
	srv *httptest.Server

	mu     sync.Mutex
	script []int
	bodies []map[string]map[string]string
	auths  []string
}

func newCallback(t *testing.T, script ...int) *callback {
	c := &callback{script: script}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		var body map[string]map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("callback body: %v", err)
		}
		c.bodies = append(c.bodies, body)
		c.auths = append(c.auths, r.Header.Get("Authorization"))
		code := http.StatusOK
		if len(c.script) > 0 {
			code, c.script = c.script[0], c.script[1:]
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code == http.StatusOK {
			_, _ = w.Write([]byte(`{"accepted": 1}`))
		} else {
			_, _ = w.Write([]byte(`{"error": "the test says no"}`))
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *callback) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs script under the wrapper with busybox sh, the callback at c (if
// any) and the token in a file.
func run(t *testing.T, c *callback, post stepwrap.PostOptions, script string, extraEnv ...string) result {
	t.Helper()
	sh := testbin.Busybox(t)
	tokenFile := filepath.Join(t.TempDir(), ".baton-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/usr/bin:/bin", "BATON_TOKEN_FILE=" + tokenFile, "BATON_OUTPUT=/somewhere/else"}
	if c != nil {
		env = append(env, "BATON_CALLBACK_URL="+c.srv.URL+"/api/v1/callbacks/r/s/1")
	}
	env = append(env, extraEnv...)
	var stdout, stderr bytes.Buffer
	tmp := t.TempDir()
	code := stepwrap.Run(context.Background(), stepwrap.Options{
		Command: []string{sh, "sh", "-c", script},
		Env:     env,
		Stdout:  &stdout,
		Stderr:  &stderr,
		TempDir: tmp,
		Post:    post,
	})
	// The private directory goes, whatever the command left in it.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
	return result{code, stdout.String(), stderr.String()}
}

func TestPostsOutputFile(t *testing.T) {
	t.Parallel()
	c := newCallback(t)
	r := run(t, c, stepwrap.PostOptions{}, `
		case "$BATON_OUTPUT" in /somewhere/else) exit 9;; esac
		printf 'greeting=hello\nmulti<<EOF\na\nb\nEOF\n' > "$BATON_OUTPUT"
		echo done`)
	if r.code != 0 {
		t.Fatalf("code = %d, want 0; stderr: %s", r.code, r.stderr)
	}
	if r.stdout != "done\n" {
		t.Errorf("stdout = %q, want the command's", r.stdout)
	}
	if c.calls() != 1 {
		t.Fatalf("callback calls = %d, want 1", c.calls())
	}
	want := map[string]string{"greeting": "hello", "multi": "a\nb"}
	if got := c.bodies[0]["variables"]; !equal(got, want) {
		t.Errorf("posted %v, want %v", got, want)
	}
	if c.auths[0] != "Bearer "+token {
		t.Errorf("Authorization = %q, want the token from the file", c.auths[0])
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	c := newCallback(t, http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway)
	r := run(t, c, stepwrap.PostOptions{RetryFor: time.Minute}, `echo x=1 > "$BATON_OUTPUT"`)
	if r.code != 0 {
		t.Fatalf("code = %d, want 0; stderr: %s", r.code, r.stderr)
	}
	if n := c.calls(); n != 4 {
		t.Errorf("callback calls = %d, want 4 (three failures, then success)", n)
	}
}

func TestUnreachableCallbackFailsLoudly(t *testing.T) {
	t.Parallel()
	c := newCallback(t)
	c.srv.Close() // nothing answers any more
	r := run(t, c, stepwrap.PostOptions{RetryFor: 2 * time.Second}, `echo x=1 > "$BATON_OUTPUT"`)
	if r.code != stepwrap.ExitUndelivered {
		t.Fatalf("code = %d, want %d; stderr: %s", r.code, stepwrap.ExitUndelivered, r.stderr)
	}
	if !strings.Contains(r.stderr, "outputs were not delivered") || !strings.Contains(r.stderr, "tries") {
		t.Errorf("stderr = %q, want it to say the outputs were not delivered after several tries", r.stderr)
	}
}

func TestPermanentRefusalIsNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusConflict, http.StatusRequestEntityTooLarge} {
		c := newCallback(t, status, status, status)
		r := run(t, c, stepwrap.PostOptions{RetryFor: time.Minute}, `echo x=1 > "$BATON_OUTPUT"`)
		if r.code != stepwrap.ExitUndelivered {
			t.Errorf("%d: code = %d, want %d", status, r.code, stepwrap.ExitUndelivered)
		}
		if c.calls() != 1 {
			t.Errorf("%d: callback calls = %d, want 1", status, c.calls())
		}
		if !strings.Contains(r.stderr, "the test says no") || !strings.Contains(r.stderr, http.StatusText(status)) {
			t.Errorf("%d: stderr = %q, want the status and baton's message", status, r.stderr)
		}
	}
}

func TestExitCodePropagated(t *testing.T) {
	t.Parallel()
	c := newCallback(t)
	// A failed step's outputs are dropped by baton, so none are posted.
	r := run(t, c, stepwrap.PostOptions{}, `echo x=1 > "$BATON_OUTPUT"; exit 3`)
	if r.code != 3 {
		t.Errorf("code = %d, want 3", r.code)
	}
	if c.calls() != 0 {
		t.Errorf("callback calls = %d after a failed command, want 0", c.calls())
	}
	if r := run(t, c, stepwrap.PostOptions{}, `kill -KILL $$`); r.code != 128+int(syscall.SIGKILL) {
		t.Errorf("killed by SIGKILL: code = %d, want %d", r.code, 128+int(syscall.SIGKILL))
	}
}

func TestNoOutputNoCallback(t *testing.T) {
	t.Parallel()
	c := newCallback(t)
	for _, script := range []string{`true`, `rm "$BATON_OUTPUT"`, `printf '\n\n' > "$BATON_OUTPUT"`} {
		if r := run(t, c, stepwrap.PostOptions{}, script); r.code != 0 {
			t.Errorf("%s: code = %d, want 0; stderr: %s", script, r.code, r.stderr)
		}
	}
	if c.calls() != 0 {
		t.Errorf("callback calls = %d, want 0", c.calls())
	}
	// Without outputs, no callback URL is needed either.
	if r := run(t, nil, stepwrap.PostOptions{}, `true`); r.code != 0 {
		t.Errorf("no callback URL, no outputs: code = %d, want 0; stderr: %s", r.code, r.stderr)
	}
}

// TestHostileOutputRefused: whatever the command makes of its output file
// other than a plain file within the limits, nothing is posted, the
// wrapper fails, and nothing the file led to is quoted.
func TestHostileOutputRefused(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	const marker = "marker-5f0c2a"
	if err := os.WriteFile(secret, []byte("LEAKED="+marker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rm := `rm -f "$BATON_OUTPUT" && `
	for _, tc := range []struct{ name, script, says string }{
		{"Symlink", rm + `ln -s ` + secret + ` "$BATON_OUTPUT"`, "symbolic link"},
		{"SymlinkToOwnFile", `echo LEAKED=` + marker + ` > "$BATON_OUTPUT.own" && ` + rm + `ln -s "$BATON_OUTPUT.own" "$BATON_OUTPUT"`, "symbolic link"},
		{"HardLink", rm + `ln ` + secret + ` "$BATON_OUTPUT"`, "hard links"},
		{"Directory", rm + `mkdir "$BATON_OUTPUT"`, "directory"},
		{"FIFO", rm + `mkfifo "$BATON_OUTPUT"`, "named pipe"},
		{"Oversized", `head -c 3000000 /dev/zero | tr '\0' a > "$BATON_OUTPUT" && echo LEAKED=` + marker + ` >> "$BATON_OUTPUT"`, "limit"},
		{"Invalid", `echo '` + marker + `' > "$BATON_OUTPUT"`, "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCallback(t)
			r := run(t, c, stepwrap.PostOptions{}, tc.script)
			if r.code != stepwrap.ExitUndelivered {
				t.Errorf("code = %d, want %d; stderr: %s", r.code, stepwrap.ExitUndelivered, r.stderr)
			}
			if c.calls() != 0 {
				t.Errorf("callback calls = %d, want 0", c.calls())
			}
			if !strings.Contains(r.stderr, tc.says) {
				t.Errorf("stderr = %q, want it to say %q", r.stderr, tc.says)
			}
			if strings.Contains(r.stderr, marker) {
				t.Errorf("stderr quotes the file's content: %q", r.stderr)
			}
		})
	}
}

func TestAtTheLimitIsPosted(t *testing.T) {
	t.Parallel()
	c := newCallback(t)
	// One value as large as the contract allows.
	r := run(t, c, stepwrap.PostOptions{}, `printf 'big=' > "$BATON_OUTPUT"; head -c `+strconv.Itoa(contract.MaxValueBytes)+` /dev/zero | tr '\0' a >> "$BATON_OUTPUT"`)
	if r.code != 0 {
		t.Fatalf("code = %d, want 0; stderr: %s", r.code, r.stderr)
	}
	if c.calls() != 1 || len(c.bodies[0]["variables"]["big"]) != contract.MaxValueBytes {
		t.Errorf("the largest value allowed was not posted whole")
	}
}

func TestTokenFromEnvironment(t *testing.T) {
	t.Parallel()
	c := newCallback(t)
	r := run(t, c, stepwrap.PostOptions{}, `echo x=1 > "$BATON_OUTPUT"`, "BATON_TOKEN_FILE=", "BATON_TOKEN=envtoken")
	if r.code != 0 {
		t.Fatalf("code = %d; stderr: %s", r.code, r.stderr)
	}
	if c.auths[0] != "Bearer envtoken" {
		t.Errorf("Authorization = %q, want the token from BATON_TOKEN", c.auths[0])
	}
}

func TestMissingCallbackFailsLoudly(t *testing.T) {
	t.Parallel()
	r := run(t, nil, stepwrap.PostOptions{}, `echo x=1 > "$BATON_OUTPUT"`)
	if r.code != stepwrap.ExitUndelivered || !strings.Contains(r.stderr, "BATON_CALLBACK_URL is not set") {
		t.Errorf("code = %d, stderr = %q; want %d and BATON_CALLBACK_URL named", r.code, r.stderr, stepwrap.ExitUndelivered)
	}
	c := newCallback(t)
	r = run(t, c, stepwrap.PostOptions{}, `echo x=1 > "$BATON_OUTPUT"`, "BATON_TOKEN_FILE=")
	if r.code != stepwrap.ExitUndelivered || !strings.Contains(r.stderr, "BATON_TOKEN") {
		t.Errorf("no token: code = %d, stderr = %q; want %d and the token named", r.code, r.stderr, stepwrap.ExitUndelivered)
	}
}

func TestCommandNotFound(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	code := stepwrap.Run(context.Background(), stepwrap.Options{
		Command: []string{"/no/such/program"}, Stderr: &stderr, Stdout: &stderr, TempDir: t.TempDir(),
	})
	if code != stepwrap.ExitNotFound || !strings.Contains(stderr.String(), "/no/such/program") {
		t.Errorf("code = %d, stderr = %q; want %d naming the program", code, stderr.String(), stepwrap.ExitNotFound)
	}
}

// TestSignalForwarded: a signal the wrapper gets reaches the command,
// which may handle it and exit as it likes.
func TestSignalForwarded(t *testing.T) {
	t.Parallel()
	sh := testbin.Busybox(t)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	sigs := make(chan os.Signal, 1)
	done := make(chan int, 1)
	var stdout bytes.Buffer
	go func() {
		done <- stepwrap.Run(context.Background(), stepwrap.Options{
			Command: []string{sh, "sh", "-c", `trap 'echo got TERM; exit 7' TERM; touch ` + ready + `; while :; do sleep 0.05; done`},
			Env:     []string{"PATH=/usr/bin:/bin"},
			Stdout:  &stdout,
			Stderr:  os.Stderr,
			Signals: sigs,
			TempDir: dir,
		})
	}()
	waitFile(t, ready)
	sigs <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != 7 {
			t.Errorf("code = %d, want 7, the trap's", code)
		}
		if !strings.Contains(stdout.String(), "got TERM") {
			t.Errorf("stdout = %q, want the trap's line", stdout.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the command did not end after SIGTERM was passed on")
	}
}

// waitFile waits for the command to say it is ready, by a file it makes.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInstall(t *testing.T) {
	t.Parallel()
	dst := filepath.Join(t.TempDir(), "baton")
	if err := stepwrap.Install(dst); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(self)
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("installed copy differs from the running binary (err %v)", err)
	}
	fi, _ := os.Stat(dst)
	if fi.Mode().Perm() != 0o555 {
		t.Errorf("mode = %v, want 0555", fi.Mode().Perm())
	}
}
