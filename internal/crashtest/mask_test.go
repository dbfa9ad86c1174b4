package crashtest

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/store"
)

const (
	startChanged = "changed-at-start-4a7f1c"
	startGone    = "deleted-later-9be20d"
	laterChanged = "changed-meanwhile-55aa01"
)

// stepSignal is an HTTP server on the docker bridge that a step talks to
// outside baton: it reports its token (GET /token?t=...), so the test can
// call back as the step and look for the token in clear, and it waits for
// the test's go (GET /go fails until opened).
type stepSignal struct {
	port string

	mu    sync.Mutex
	token string
	open  bool
}

func newStepSignal(t *testing.T, host string) *stepSignal {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	g := &stepSignal{port: strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.token = r.URL.Query().Get("t")
		g.mu.Unlock()
	})
	mux.HandleFunc("GET /go", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if !g.open {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return g
}

func (g *stepSignal) reported() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.token
}

func (g *stepSignal) letGo() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = true
}

// maskPipeline is one container step that reports its token, prints it, then
// waits for the test's go (baton is killed and restarted meanwhile, and the
// step's secrets are changed and deleted) and prints the token and both
// secrets raw and in base64, and whether the callback still hands it the
// secrets it started with.
func maskPipeline(image, port string) string {
	sig := "http://host.docker.internal:" + port
	script := `T=${BATON_TOKEN:-$(cat "$BATON_TOKEN_FILE")}
C=$(cat /run/secrets/changed)
until wget -q -O /dev/null "` + sig + `/token?t=$T"; do sleep 0.2; done
echo before=$T
until wget -q -O /dev/null ` + sig + `/go; do sleep 0.2; done
echo token=$T
echo token64=$(printf %s "$T" | base64)
echo changed=$C
echo changed64=$(printf %s "$C" | base64)
echo gone=$GONE
echo gone64=$(printf %s "$GONE" | base64)
for name in changed gone; do
  v=$(wget -q -O- --header "Authorization: Bearer $T" "$BATON_CALLBACK_URL/secrets/$name")
  want=$C; [ $name = gone ] && want=$GONE
  if [ "$v" = "$want" ]; then echo "callback $name: start value"; else echo "callback $name: another value"; fi
done
`
	indented := "        " + strings.ReplaceAll(strings.TrimRight(script, "\n"), "\n", "\n        ")
	return `name: masked
steps:
  - name: leak
    image: ` + image + `
    pull: never
    timeout: 3m
    secrets: [{name: changed}, {name: gone, env: GONE}]
    command:
      - sh
      - -c
      - |
` + indented + `
`
}

// TestMaskingSurvivesKill kills the server with SIGKILL while a container
// step runs, changes one of its secrets and deletes another, and lets the
// step print them and its token once the restarted server has re-attached:
// the stored logs and the database hold none of them in clear, and the
// callback still hands the step the values it started with.
func TestMaskingSurvivesKill(t *testing.T) {
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	host := bridgeHost(t, cli)
	var ids []string
	removeContainersOf(t, cli, func() []string { return ids })
	s := newServer(t, host, "docker")
	s.restart()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for name, v := range map[string]string{"changed": startChanged, "gone": startGone} {
		if err := s.client.SetSecret(ctx, name, []byte(v)); err != nil {
			t.Fatalf("set secret %s: %v", name, err)
		}
	}
	sig := newStepSignal(t, host)
	s.apply(maskPipeline(image, sig.port))
	r, err := s.client.Trigger(ctx, "masked", nil)
	if err != nil {
		t.Fatalf("trigger: %v", err)
	}
	ids = append(ids, r.ID)
	waitUntil(t, 90*time.Second, "the step printed its first line", func() bool {
		lines, err := s.logLines(r.ID, "leak")
		return err == nil && sig.reported() != "" && strings.Contains(formatLogs(lines), "before=")
	})
	token := sig.reported()

	s.kill()
	s.restart()
	if err := s.client.SetSecret(ctx, "changed", []byte(laterChanged)); err != nil {
		t.Fatalf("change secret: %v", err)
	}
	if err := s.client.DeleteSecret(ctx, "gone"); err != nil {
		t.Fatalf("delete secret: %v", err)
	}
	// Read as the step would, after the restart and the changes.
	for name, want := range map[string]string{"changed": startChanged, "gone": startGone} {
		if got, err := s.callbackSecret(ctx, r.ID, "leak", 1, token, name); err != nil || got != want {
			t.Errorf("callback secret %s after the restart = %q, %v; want the value the attempt started with", name, got, err)
		}
	}
	sig.letGo()
	s.waitAllTerminal(2 * time.Minute)

	run := s.run(r.ID)
	if run.Status != store.RunSucceeded {
		t.Errorf("run is %s (%q), want succeeded", run.Status, run.Error)
	}
	lines, err := s.logLines(r.ID, "leak")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Stream + ":" + l.Text + "\n")
	}
	logs := b.String()
	for _, want := range []string{"before=***", "token=***", "token64=***", "changed=***", "changed64=***", "gone=***", "gone64=***",
		"callback changed: start value", "callback gone: start value"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	forms := []string{token, startChanged, startGone}
	for _, v := range []string{token, startChanged, startGone} {
		forms = append(forms, base64.StdEncoding.EncodeToString([]byte(v)))
	}
	for _, f := range forms {
		if strings.Contains(logs, f) {
			t.Errorf("stored logs hold %q in clear", f)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
	s.stop()
	// Nor anywhere in the database.
	files, _ := filepath.Glob(filepath.Join(s.dataDir, "baton.db*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forms {
			if strings.Contains(string(data), f) {
				t.Errorf("%s holds %q in clear", filepath.Base(file), f)
			}
		}
	}
}

// callbackSecret reads a secret through the callback API, as a step does.
func (s *server) callbackSecret(ctx context.Context, runID, step string, attempt int, token, name string) (string, error) {
	u := s.client.BaseURL + "/api/v1/callbacks/" + runID + "/" + step + "/" + strconv.Itoa(attempt) + "/secrets/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return "", &callbackStatus{resp.Status}
	}
	return string(body), err
}

type callbackStatus struct{ status string }

func (e *callbackStatus) Error() string { return "callback answered " + e.status }

// waitUntil polls cond until it holds, failing the test after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
