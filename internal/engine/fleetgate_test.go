package engine_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
)

// span is when something ran.
type span struct{ from, to time.Time }

// mostAtOnce returns the most spans that overlap at one time.
func mostAtOnce(spans []span) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, s := range spans {
		edges = append(edges, edge{s.from, 1}, edge{s.to, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // an end before a start at the same time
	})
	most, now := 0, 0
	for _, e := range edges {
		now += e.delta
		most = max(most, now)
	}
	return most
}

// twoServers are two engines sharing one store, each with its own process
// executor, configured alike.
func twoServers(t *testing.T, configure func(*engine.Config)) (*harness, *engine.Engine) {
	t.Helper()
	shared := func(c *engine.Config) {
		c.Shared, c.Lease = true, 5*time.Second
		configure(c)
	}
	h := newHarness(t, process.New(process.Options{Dir: filepath.Join(t.TempDir(), "a")}), "", "", shared)
	b := secondServer(t, h, func(c *engine.Config) {
		c.Executor = process.New(process.Options{Dir: filepath.Join(t.TempDir(), "b")})
		shared(c)
	})
	if err := b.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h, b
}

// submitBoth submits n runs of pipeline through each server and waits for
// them all.
func submitBoth(t *testing.T, h *harness, b *engine.Engine, pipeline string, n int) []*store.RunRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var ids []string
	for range n {
		for _, e := range []*engine.Engine{h.eng, b} {
			run, err := e.Submit(ctx, &engine.SubmitParams{Pipeline: pipeline})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, run.ID)
		}
	}
	var runs []*store.RunRow
	for _, id := range ids {
		run, err := h.eng.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != store.RunSucceeded {
			t.Fatalf("run %s: %s (%s)", id, run.Status, run.Error)
		}
		runs = append(runs, run)
	}
	return runs
}

// TestConcurrencyAcrossServers: a pipeline's concurrency holds over every
// server on the store, not per server.
func TestConcurrencyAcrossServers(t *testing.T) {
	t.Parallel()
	h, b := twoServers(t, func(*engine.Config) {})
	bb := busybox(t)
	for _, e := range []*engine.Engine{h.eng, b} {
		if _, _, err := e.Apply(context.Background(), "one.yaml", []byte(`
name: one
concurrency: 1
steps:
  - name: nap
    command: ["`+bb+`", "sleep", "0.3"]
`)); err != nil {
			t.Fatal(err)
		}
	}
	runs := submitBoth(t, h, b, "one", 3)
	var spans []span
	for _, r := range runs {
		spans = append(spans, span{r.StartedAt, r.FinishedAt})
	}
	if got := mostAtOnce(spans); got != 1 {
		t.Errorf("runs of a pipeline with concurrency 1 running at once over two servers: %d", got)
	}
}

// TestMaxParallelAcrossServers: --max-parallel-steps bounds the attempts
// running on all the servers together.
func TestMaxParallelAcrossServers(t *testing.T) {
	t.Parallel()
	h, b := twoServers(t, func(c *engine.Config) { c.MaxParallel = 2 })
	bb := busybox(t)
	if _, _, err := h.eng.Apply(context.Background(), "wide.yaml", []byte(`
name: wide
steps:
  - {name: a, command: ["`+bb+`", "sleep", "0.3"]}
  - {name: b, command: ["`+bb+`", "sleep", "0.3"], needs: []}
`)); err != nil {
		t.Fatal(err)
	}
	runs := submitBoth(t, h, b, "wide", 2)
	var spans []span
	for _, r := range runs {
		attempts, err := h.st.AttemptList(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range attempts {
			spans = append(spans, span{a.StartedAt, a.FinishedAt})
		}
	}
	if len(spans) != 8 {
		t.Fatalf("%d attempts, want 8", len(spans))
	}
	if got := mostAtOnce(spans); got > 2 {
		t.Errorf("attempts running at once over two servers with at most 2: %d", got)
	}
	if got := mostAtOnce(spans); got < 2 {
		t.Errorf("attempts never ran two at once: the bound is not a bound but a queue (%d)", got)
	}
}
