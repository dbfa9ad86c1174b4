package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer for a goroutine's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// startServer runs 'baton server' with args on a port of its own until t
// ends, and returns its URL once it answers.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stderr := &syncBuffer{}
	env := &Env{Stdin: strings.NewReader(""), Stdout: stderr, Stderr: stderr, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, env, append(args, "--listen", addr, "--dev")) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v\n%s", err, stderr)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "http://" + addr
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server ended: %v\n%s", err, stderr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer in 30 s:\n%s", stderr)
		}
	}
}

// client runs a client command against server.
func client(t *testing.T, server string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string {
		if k == "BATON_SERVER" {
			return server
		}
		return ""
	}}
	if _, err := dispatch(t.Context(), env, root, "", args); err != nil {
		t.Fatalf("baton %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// TestStoreSQLiteByDefault: without --store, or with --store sqlite, the
// store is the SQLite database in the data dir.
func TestStoreSQLiteByDefault(t *testing.T) {
	for _, args := range [][]string{nil, {"--store", "sqlite"}} {
		dir := t.TempDir()
		server := startServer(t, append(args, "--data-dir", dir, "--executor", "noop")...)
		client(t, server, "runs", "list")
		if _, err := os.Stat(filepath.Join(dir, "baton.db")); err != nil {
			t.Errorf("baton server %s: no SQLite database in the data dir: %v", strings.Join(args, " "), err)
		}
	}
}

// TestStoreURLRefused: a store URL that cannot be used stops the server
// at once, with an error that shows no password.
func TestStoreURLRefused(t *testing.T) {
	var out bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	for _, url := range []string{"postgres://baton:s3cr3t@127.0.0.1:1/baton?connect_timeout=2", "mysql://baton:s3cr3t@db/baton"} {
		err := runServer(t.Context(), env, []string{"--store", url, "--data-dir", t.TempDir(), "--executor", "noop", "--dev", "--listen", "127.0.0.1:0"})
		if err == nil || strings.Contains(fmt.Sprint(err)+out.String(), "s3cr3t") {
			t.Fatalf("--store %s: got %v (output %q), want a refusal without the password", url, err, out.String())
		}
	}
}
