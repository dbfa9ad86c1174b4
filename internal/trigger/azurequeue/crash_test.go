//go:build azure

package azurequeue

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/failpoint"
	"github.com/baton-dev/baton/internal/store"
)

// buildBaton builds baton with the trigger and failpoints into a test
// directory.
func buildBaton(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "baton")
	cmd := exec.Command("go", "build", "-tags", "azure,failpoint", "-o", bin, "./cmd/baton")
	cmd.Dir = filepath.Join("..", "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags azure,failpoint ./cmd/baton: %v\n%s", err, out)
	}
	return bin
}

// life is one run of a baton server process.
type life struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startBaton starts a dev server on addr and dataDir that reads Azurite
// with its dev connection string; with a failpoint, it kills itself there.
func startBaton(t *testing.T, bin, dataDir, addr, endpoint, point string) *life {
	t.Helper()
	logFile, err := os.CreateTemp(dataDir, "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "server", "--dev", "--listen", addr, "--data-dir", dataDir, "--executor", "noop")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BATON_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "BATON_AZURE_QUEUE_DEV_CONNECTION_STRING="+devConnectionString(endpoint))
	if point != "" {
		cmd.Env = append(cmd.Env, "BATON_FAILPOINT="+point)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &life{cmd: cmd, log: logFile.Name(), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(l.done) }()
	t.Cleanup(func() {
		if !l.exited() {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-l.done
		}
		if t.Failed() {
			t.Logf("server log %s:\n%s", l.log, l.tail())
		}
	})
	hc := &http.Client{Timeout: time.Second}
	waitFor(t, 30*time.Second, "the server to answer", func() bool {
		if l.exited() {
			t.Fatalf("the server exited while starting:\n%s", l.tail())
		}
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return l
}

func (l *life) exited() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *life) tail() string {
	b, _ := os.ReadFile(l.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// TestKilledBeforeDelete kills a real baton after its run of a message is
// stored and before the message is deleted: the message comes back, and
// the next life deletes it without starting a second run, while it
// resumes the first.
func TestKilledBeforeDelete(t *testing.T) {
	endpoint := azurite(t)
	q := newTestQueue(t, endpoint)
	bin := buildBaton(t)
	dataDir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := api.NewClient("http://" + addr)
	client.HTTP = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	id := q.put(t, `{"target": "eu"}`)
	first := startBaton(t, bin, dataDir, addr, endpoint, failpoint.RunAccepted)
	if _, err := client.Apply(ctx, "ingest.yaml", []byte(pipelineFile("ingest", endpoint, q.name, ""))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.done:
	case <-time.After(time.Minute):
		t.Fatalf("the server did not reach %s:\n%s", failpoint.RunAccepted, first.tail())
	}
	if ws, ok := first.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the server ended with %v, want death by SIGKILL at %s:\n%s", first.cmd.ProcessState, failpoint.RunAccepted, first.tail())
	}
	if n := count(t, q.main); n != 1 {
		t.Fatalf("%d messages in the queue after the crash, want the one not deleted", n)
	}

	second := startBaton(t, bin, dataDir, addr, endpoint, "")
	waitFor(t, 2*time.Minute, "the message to be deleted", func() bool { return count(t, q.main) == 0 })
	var runs []api.Run
	waitFor(t, 2*time.Minute, "the run to end", func() bool {
		runs, err = client.Runs(ctx, url.Values{"pipeline": {"ingest"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs) > 0 && runs[0].Status.Terminal()
	})
	if len(runs) != 1 || runs[0].Status != store.RunSucceeded || runs[0].Params["target"] != "eu" {
		t.Fatalf("runs after the crash: %+v, want one that succeeded with target=eu", runs)
	}
	resp, err := client.HTTP.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	dup := fmt.Sprintf(`baton_queue_messages_total{outcome="duplicate",pipeline="ingest",queue=%q} 1`, q.name)
	if !strings.Contains(string(metrics), dup) {
		t.Errorf("the metrics lack %s", dup)
	}
	if !strings.Contains(second.tail(), "message_id="+id) {
		t.Errorf("the second life did not log message %s:\n%s", id, second.tail())
	}

	// A clean stop: SIGTERM ends the server, consumers included.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-second.done:
	case <-time.After(time.Minute):
		t.Fatalf("the server still runs a minute after SIGTERM:\n%s", second.tail())
	}
	if !second.cmd.ProcessState.Success() || !strings.Contains(second.tail(), "queue trigger stopped") {
		t.Fatalf("the server ended with %v after SIGTERM, want 0 with its consumer stopped:\n%s", second.cmd.ProcessState, second.tail())
	}
}
