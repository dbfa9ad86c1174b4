package api_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// listening is the API on a real listener built as baton server builds it:
// [api.LimitListener], [api.NewHTTPServer] and the same limits for the
// handler.
type listening struct {
	addr      string
	token     string // an admin token
	maxActive atomic.Int64
}

func listen(t *testing.T, lim api.Limits, maxConns int) *listening {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Store: st, Executor: noop.New()})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := auth.Create(ctx, st, "admin", auth.Admin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listening{addr: raw.Addr().String(), token: token}
	srv := api.NewHTTPServer(api.New(eng, st, api.Options{Auth: auth.New(st), Limits: lim}), nil, lim)
	var active atomic.Int64
	srv.ConnState = func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			n := active.Add(1)
			for {
				old := l.maxActive.Load()
				if n <= old || l.maxActive.CompareAndSwap(old, n) {
					break
				}
			}
		case http.StateClosed, http.StateHijacked:
			active.Add(-1)
		}
	}
	go func() { _ = srv.Serve(api.LimitListener(raw, maxConns)) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = eng.Close(ctx)
		_ = st.Close()
	})
	return l
}

// closedByServer reads c until the server closes it, answering whether it
// did within the bound (a guard against hanging, far above the limits).
func closedByServer(c net.Conn, bound time.Duration) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(bound))
	data, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(data), fmt.Errorf("still open after %s", bound)
	}
	return string(data), nil // EOF or reset: the server closed it
}

// TestSlowClientsAreCutOff opens more slow connections than the server
// holds, of every slow kind, and checks that the server closes each, never
// holds more than its cap, and answers a normal request meanwhile.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	const maxConns, slow = 40, 240
	lim := api.Limits{HeaderTimeout: time.Second, BodyTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}
	l := listen(t, lim, maxConns)
	kinds := []struct {
		name, send string
	}{
		{"partial headers", "GET /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthoriz"},
		{"no token, endless body", "POST /api/v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n"},
		{"token, endless body", "POST /api/v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + l.token + "\r\nContent-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n"},
		{"token, short body", "PUT /api/v1/secrets/x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + l.token + "\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\nabc"},
		{"callback, endless body", "POST /api/v1/callbacks/r/s/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n"},
		{"idle after a request", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
	}
	conns := make([]net.Conn, slow)
	for i := range conns {
		c, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, kinds[i%len(kinds)].send); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		conns[i] = c
	}

	// A normal client is answered while they hang on.
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get("http://" + l.addr + "/healthz")
	if err != nil {
		t.Fatalf("a normal request behind %d slow clients: %v", slow, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a normal request behind slow clients: %d", resp.StatusCode)
	}

	var wg sync.WaitGroup
	errs := make([]error, slow)
	for i, c := range conns {
		wg.Go(func() {
			_, errs[i] = closedByServer(c, 2*time.Minute)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("slow client %d (%s): %v", i, kinds[i%len(kinds)].name, err)
		}
	}
	if got := l.maxActive.Load(); got > maxConns {
		t.Errorf("the server held %d connections at once, over its cap of %d", got, maxConns)
	}
	// And once they are gone, it still answers.
	resp, err = client.Get("http://" + l.addr + "/healthz")
	if err != nil {
		t.Fatalf("a request after the slow clients: %v", err)
	}
	resp.Body.Close()
}

// TestRefusalsDoNotReadTheBody sends requests that are refused, with bodies
// that do not end (or end far later), and checks that the refusal comes at
// once, says Connection: close, and the server then closes: it waits for no
// body. The body deadline is far above the bound, so a server that read the
// body would be caught still open.
func TestRefusalsDoNotReadTheBody(t *testing.T) {
	t.Parallel()
	lim := api.Limits{BodyTimeout: 10 * time.Minute}
	l := listen(t, lim, 100)
	for _, c := range []struct {
		name, head string
		want       int
	}{
		{"no token, sized body", "POST /api/v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\nContent-Length: 100000\r\n\r\n", 401},
		{"no token, chunked body", "POST /api/v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 401},
		{"bad token", "POST /api/v1/pipelines/p/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer baton_nope\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", 401},
		{"wrong content type", "POST /api/v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: bearer " + l.token + "\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\nname", 415},
		{"cross-site", "POST /api/v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: cross-site\r\nContent-Type: application/yaml\r\nContent-Length: 100000\r\n\r\nname", 403},
		{"callback without token", "POST /api/v1/callbacks/r/s/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", 401},
		{"callback, wrong token", "POST /api/v1/callbacks/r/s/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n", 401},
		{"unknown route", "POST /api/v1/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nx", 404},
		{"body to a route that reads none", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n", 400},
		{"body to a DELETE", "DELETE /api/v1/tokens/x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + l.token + "\r\nContent-Length: 100000\r\n\r\n{", 400},
	} {
		conn, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, c.head); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: no answer while the body is unsent: %v", c.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want || !resp.Close {
			t.Errorf("%s: %d, Connection: close %v; want %d and close", c.name, resp.StatusCode, resp.Close, c.want)
		}
		if _, err := closedByServer(conn, time.Minute); err != nil {
			t.Errorf("%s: %v: the server waits for the body", c.name, err)
		}
		conn.Close()
	}
}

// TestLogFollowOutlivesTheDeadlines follows a step's log for longer than
// the body and write deadlines: a stream that keeps sending keeps going.
func TestLogFollowOutlivesTheDeadlines(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	lim := api.Limits{BodyTimeout: time.Second, WriteTimeout: time.Second, IdleTimeout: time.Second}
	s := newServerWith(t, lim)
	spec := `
name: slow
steps:
  - name: ticks
    command: ["` + bb + `", "sh", "-c", "for i in 1 2 3 4 5; do echo tick $i; sleep 1; done"]
`
	if code, body := s.do("POST", "/api/v1/pipelines", spec); code != http.StatusCreated {
		t.Fatalf("apply: %d %s", code, body)
	}
	code, body := s.do("POST", "/api/v1/pipelines/slow/runs", "{}")
	if code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	id := between(body, `"id": "`, `"`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/api/v1/runs/"+id+"/steps/ticks/logs?follow=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("follow cut after %q: %v", data, err)
	}
	for i := 1; i <= 5; i++ {
		if !strings.Contains(string(data), fmt.Sprintf("stdout tick %d\n", i)) {
			t.Fatalf("follow is missing tick %d: %q", i, data)
		}
	}
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}
