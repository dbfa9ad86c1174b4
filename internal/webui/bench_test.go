package webui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

// The UI's benchmarks (docs/benchmarks.md):
//
//	go test ./internal/webui -run '^$' -bench . -benchtime 200x
//
// Each page is fetched over real HTTP from a server whose SQLite store
// holds 100,000 runs of 10 pipelines, spread over 14 days; bytes/page is
// the HTML sent.

var (
	// bigSkew moves the big server's clock on: the health benchmark moves
	// it past the 30 s its statistics are kept, so each page reads them.
	bigSkew atomic.Int64
	bigOnce sync.Once
	big     *server
	bigRun  string
)

// bigServer is one server with 100,000 runs, shared by the benchmarks.
func bigServer(b *testing.B) *server {
	bigOnce.Do(func() {
		// Not b: the server outlives this benchmark for the next ones.
		s := newServerWith(&keep{TB: b}, serverOptions{now: func() time.Time { return time.Now().Add(time.Duration(bigSkew.Load())) }})
		ctx := context.Background()
		for p := range 10 {
			s.apply(fmt.Sprintf(`
name: p%d
params:
  region: {default: eu}
steps:
  - name: build
    command: ["%s", "true"]
  - name: test
    command: ["%s", "true"]
  - name: ship
    command: ["%s", "true"]
`, p, s.bb, s.bb, s.bb))
		}
		start := time.Now().Add(-14 * 24 * time.Hour)
		const n = 100_000
		step := 14 * 24 * time.Hour / n
		for i := range n {
			at := start.Add(time.Duration(i) * step)
			id := fmt.Sprintf("run-%06d", i)
			if _, err := s.st.RunCreate(ctx, &store.RunCreateParams{ID: id, Pipeline: fmt.Sprintf("p%d", i%10), Revision: 1,
				Params: map[string]string{"region": []string{"eu", "us", "ap"}[i%3]}, Steps: []string{"build", "test", "ship"}, Now: at}); err != nil {
				b.Fatal(err)
			}
			status := store.RunSucceeded
			if i%7 == 0 {
				status = store.RunFailed
			}
			for _, st := range []store.RunStatus{store.RunRunning, status} {
				if err := s.st.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: st, Now: at.Add(time.Duration(i%90) * time.Second)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		// One real run, with logs, for the run page.
		run, err := s.eng.Submit(ctx, submit("p0"))
		if err != nil {
			b.Fatal(err)
		}
		s.waitRun(run.ID)
		big, bigRun = s, run.ID
	})
	if big == nil {
		b.Fatal("no server")
	}
	return big
}

// keep is a testing.TB whose cleanups never run: the shared server lives
// as long as the benchmark binary.
type keep struct{ testing.TB }

func (k *keep) Cleanup(func()) {}
func (k *keep) TempDir() string {
	d, err := os.MkdirTemp("", "baton-webui-bench-")
	if err != nil {
		k.Fatal(err)
	}
	return d
}

func benchPage(b *testing.B, path string) { benchPageEach(b, path, func() {}) }

// benchPageEach fetches path b.N times, calling each before every fetch.
func benchPageEach(b *testing.B, path string, each func()) {
	s := bigServer(b)
	br := s.signedIn(auth.Viewer)
	br.t = b
	var bytes int64
	b.ResetTimer()
	for range b.N {
		each()
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		resp, err := br.c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
		bytes = n
	}
	b.ReportMetric(float64(bytes), "bytes/page")
}

func BenchmarkRunsPage(b *testing.B)     { benchPage(b, "/runs") }
func BenchmarkRunsPageDeep(b *testing.B) { benchPage(b, "/runs?before=run-050000") }
func BenchmarkRunsPageFiltered(b *testing.B) {
	benchPage(b, "/runs?pipeline=p3&status=failed&param=region%3Dus")
}
func BenchmarkRunPage(b *testing.B)      { bigServer(b); benchPage(b, "/runs/"+bigRun) }
func BenchmarkPipelinePage(b *testing.B) { benchPage(b, "/pipelines/p0") }
func BenchmarkHealthPage(b *testing.B)   { benchPage(b, "/health") }

// BenchmarkLiveLogLatency is the time from a step printing a line to the
// line arriving at a browser following the step's log, with the engine's
// default log flush (at most one store write per 200 ms): the step echoes
// what is written to a FIFO, and the clock runs from the write to the
// line's event. After a quiet second a line goes through at once; a line
// right after another waits for the rest of the flush interval.
func BenchmarkLiveLogLatency(b *testing.B) {
	b.Run("after-quiet", func(b *testing.B) { liveLogLatency(b, time.Second) })
	b.Run("back-to-back", func(b *testing.B) { liveLogLatency(b, 0) })
}

func liveLogLatency(b *testing.B, quiet time.Duration) {
	s := newServerWith(b, serverOptions{logFlush: -1})
	dir := b.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		b.Fatal(err)
	}
	s.apply(`
name: echo
steps:
  - name: echo
    command: ["` + s.bb + `", "sh", "-c", "exec 3<>` + fifo + `; while read -r x <&3; do [ \"$x\" = stop ] && exit 0; echo \"$x\"; done"]
`)
	br := s.signedIn(auth.Viewer)
	br.t = b
	run, err := s.eng.Submit(context.Background(), submit("echo"))
	if err != nil {
		b.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	// Wait for the step to run, then follow its log.
	for {
		st, _ := s.st.StepList(context.Background(), run.ID)
		if len(st) > 0 && st[0].Status == store.StepRunning {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ev := br.events("/runs/" + url.PathEscape(run.ID) + "/steps/echo/log/events?after=0")
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		mark := fmt.Sprintf("line-%d", i)
		time.Sleep(quiet)
		t0 := time.Now()
		if _, err := fmt.Fprintln(w, mark); err != nil {
			b.Fatal(err)
		}
		for {
			e := next(b, ev, "lines")
			if strings.Contains(e.data, mark) {
				break
			}
		}
		total += time.Since(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/line")
	fmt.Fprintln(w, "stop")
	s.waitRun(run.ID)
}
