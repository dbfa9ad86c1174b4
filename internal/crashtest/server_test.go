package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
)

// binDir holds the baton binary the tests build; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "baton-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
	binPath   string
)

// batonBinary builds baton with failpoints, once per test binary. Without
// BATON_FAILPOINT in its environment it behaves as a normal build.
func batonBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			buildErr = err
			return
		}
		root := filepath.Join(wd, "..", "..")
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
			buildErr = fmt.Errorf("module root not found two levels above %s: %w", wd, err)
			return
		}
		binPath = filepath.Join(binDir, "baton")
		// With the PostgreSQL store, for the tests of several servers.
		cmd := exec.Command("go", "build", "-tags", "failpoint postgres", "-o", binPath, "./cmd/baton")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build -tags 'failpoint postgres' ./cmd/baton: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freeAddr returns host:port with a port nobody listens on right now.
func freeAddr(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("find a free port on %s: %v", host, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a baton server process, restarted as often as a test likes on
// the same data directory and address.
type server struct {
	t        *testing.T
	bin      string
	dataDir  string
	addr     string
	executor string
	client   *api.Client
	// extra are more flags for every start: a fleet's shared store.
	extra []string

	proc   *proc
	starts int
	logs   []string // stderr file of every start, in order
}

// proc is one life of the server.
type proc struct {
	cmd   *exec.Cmd
	done  chan struct{} // closed once the process has exited
	state *os.ProcessState
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// newServer prepares a server on a fresh data directory; it does not start
// it. The process is killed, and its stderr shown if the test failed, when
// the test ends.
func newServer(t *testing.T, host, executor string) *server {
	t.Helper()
	s := &server{
		t:        t,
		bin:      batonBinary(t),
		dataDir:  t.TempDir(),
		addr:     freeAddr(t, host),
		executor: executor,
	}
	s.client = api.NewClient("http://" + s.addr)
	// No kept-alive connections: each request of a test meets the server's
	// current life, not a socket of a killed one.
	s.client.HTTP = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(func() {
		if s.proc != nil && !s.proc.exited() {
			_ = s.proc.cmd.Process.Signal(syscall.SIGKILL)
			<-s.proc.done
		}
		if t.Failed() {
			s.dumpLogs()
		}
	})
	return s
}

// start starts a new life of the server; with a non-empty failpoint, the
// process kills itself when it reaches that point.
func (s *server) start(failpoint string) {
	s.t.Helper()
	if s.proc != nil && !s.proc.exited() {
		s.t.Fatalf("start: the previous server (pid %d) is still running", s.proc.cmd.Process.Pid)
	}
	s.starts++
	logPath := filepath.Join(s.dataDir, fmt.Sprintf("server-%02d.stderr", s.starts))
	logFile, err := os.Create(logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	s.logs = append(s.logs, logPath)

	args := append([]string{"server", "--listen", s.addr, "--data-dir", s.dataDir, "--executor", s.executor}, s.extra...)
	cmd := exec.Command(s.bin, args...)
	cmd.Env = serverEnv(failpoint)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start baton server: %v", err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	s.proc = p
}

// serverEnv is this process's environment without baton settings that
// would change what the test starts, plus the failpoint if any.
func serverEnv(failpoint string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BATON_") {
			continue
		}
		env = append(env, kv)
	}
	if failpoint != "" {
		env = append(env, "BATON_FAILPOINT="+failpoint)
	}
	return env
}

// waitReady waits until the current life answers /healthz.
func (s *server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for time.Now().Before(deadline) {
		if s.proc.exited() {
			s.t.Fatalf("baton server exited while starting (%v); stderr:\n%s", s.proc.state, s.tail(len(s.logs)-1, 40))
		}
		resp, err := hc.Get(s.client.BaseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && s.loadToken() {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("baton server at %s not ready after 30s; stderr:\n%s", s.addr, s.tail(len(s.logs)-1, 40))
}

// loadToken reads the admin API token the first start writes into the
// data directory, once, and reports whether the client has it.
func (s *server) loadToken() bool {
	if s.client.Token != "" {
		return true
	}
	data, err := os.ReadFile(filepath.Join(s.dataDir, auth.AdminTokenFile))
	if err != nil || strings.TrimSpace(string(data)) == "" {
		return false // not written yet
	}
	s.client.Token = strings.TrimSpace(string(data))
	return true
}

// restart starts a new life without failpoint and waits until it answers.
func (s *server) restart() {
	s.t.Helper()
	s.start("")
	s.waitReady()
}

// waitDeath waits until the current life ends by itself and fails the test
// unless SIGKILL ended it.
func (s *server) waitDeath(timeout time.Duration, why string) {
	s.t.Helper()
	select {
	case <-s.proc.done:
	case <-time.After(timeout):
		s.t.Fatalf("baton server still alive %s after %s; stderr:\n%s", why, timeout, s.tail(len(s.logs)-1, 40))
	}
	if !killedBySIGKILL(s.proc.state) {
		s.t.Fatalf("baton server ended with %v %s, want death by SIGKILL; stderr:\n%s", s.proc.state, why, s.tail(len(s.logs)-1, 40))
	}
}

func killedBySIGKILL(st *os.ProcessState) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// kill ends the current life with SIGKILL, as a crash would. A life that
// has already ended on its own fails the test: nothing else may stop it.
func (s *server) kill() {
	s.t.Helper()
	if s.proc.exited() {
		s.t.Fatalf("baton server had exited by itself (%v) before it was killed; stderr:\n%s", s.proc.state, s.tail(len(s.logs)-1, 40))
	}
	if err := s.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill baton server: %v", err)
	}
	select {
	case <-s.proc.done:
	case <-time.After(10 * time.Second):
		s.t.Fatal("baton server survived SIGKILL for 10s")
	}
}

// stop ends the current life with SIGTERM and checks that it exits cleanly
// within 5 seconds.
func (s *server) stop() {
	s.t.Helper()
	if s.proc.exited() {
		s.t.Fatalf("baton server had exited by itself (%v) before SIGTERM; stderr:\n%s", s.proc.state, s.tail(len(s.logs)-1, 40))
	}
	if err := s.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("signal baton server: %v", err)
	}
	select {
	case <-s.proc.done:
	case <-time.After(5 * time.Second):
		s.t.Fatalf("baton server still running 5s after SIGTERM; stderr:\n%s", s.tail(len(s.logs)-1, 40))
	}
	if !s.proc.state.Success() {
		s.t.Errorf("baton server ended with %v after SIGTERM, want exit status 0; stderr:\n%s", s.proc.state, s.tail(len(s.logs)-1, 40))
	}
}

// tail returns the last n lines of the stderr of start i (0-based).
func (s *server) tail(i, n int) string {
	if i < 0 || i >= len(s.logs) {
		return "(no such start)"
	}
	data, err := os.ReadFile(s.logs[i])
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// dumpLogs logs the end of every life's stderr, the last one longest.
func (s *server) dumpLogs() {
	var b bytes.Buffer
	for i := range s.logs {
		n := 15
		if i == len(s.logs)-1 {
			n = 60
		}
		fmt.Fprintf(&b, "==> server start %d of %d (%s) <==\n%s\n", i+1, len(s.logs), filepath.Base(s.logs[i]), s.tail(i, n))
	}
	s.t.Logf("baton server stderr:\n%s", b.String())
}

// apply stores a pipeline definition.
func (s *server) apply(yaml string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := s.client.Apply(ctx, "pipeline.yaml", []byte(yaml)); err != nil {
		s.t.Fatalf("apply pipeline: %v", err)
	}
}

// run returns one run in full.
func (s *server) run(id string) *api.Run {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r, err := s.client.Run(ctx, id)
	if err != nil {
		s.t.Fatalf("get run %s: %v", id, err)
	}
	return r
}

// runs lists the runs with one of the given statuses, or all runs.
func (s *server) runs(statuses ...string) []api.Run {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	q := url.Values{"limit": {"1000"}}
	if len(statuses) > 0 {
		q.Set("status", strings.Join(statuses, ","))
	}
	rs, err := s.client.Runs(ctx, q)
	if err != nil {
		s.t.Fatalf("list runs: %v", err)
	}
	return rs
}

// waitAllTerminal waits until no run is queued or running.
func (s *server) waitAllTerminal(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if s.proc.exited() {
			s.t.Fatalf("baton server exited (%v) while runs were finishing; stderr:\n%s", s.proc.state, s.tail(len(s.logs)-1, 40))
		}
		left := s.runs("queued", "running")
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, r := range left {
				if i == 3 {
					fmt.Fprintf(&b, "... and %d more\n", len(left)-i)
					break
				}
				b.WriteString(runJSON(s.run(r.ID)))
				b.WriteString("\n")
			}
			s.t.Fatalf("%d runs still unfinished after %s:\n%s", len(left), timeout, b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// logLines returns a step's log lines, every attempt's.
func (s *server) logLines(runID, step string) ([]api.LogLine, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	u := s.client.BaseURL + "/api/v1/runs/" + url.PathEscape(runID) + "/steps/" + url.PathEscape(step) + "/logs?format=json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.client.Token)
	resp, err := s.client.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return decodeLogLines(resp.Body)
}

// isConnError reports whether err means the server could not be reached or
// dropped the connection, as opposed to an answer.
func isConnError(err error) bool {
	var se *api.StatusError
	return err != nil && !errors.As(err, &se)
}
