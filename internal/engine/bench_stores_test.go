package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// benchFleet is n engines (servers) on one store, with no-op executors:
// SQLite (n must be 1) or PostgreSQL, each server with its own pool and
// its own signals, as separate processes would have.
func benchFleet(b *testing.B, kind string, n int) []*engine.Engine {
	b.Helper()
	ctx := context.Background()
	var open func() store.Store
	switch kind {
	case "sqlite":
		path := filepath.Join(b.TempDir(), "baton.db")
		open = func() store.Store {
			st, err := sqlite.Open(ctx, path, sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}
	case "postgres":
		url := pgtest.Schema(b)
		open = func() store.Store {
			st, err := postgres.Open(ctx, url, postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}
	}
	var engines []*engine.Engine
	for range n {
		st := open()
		cfg := engine.Config{Store: st, Executor: noop.New()}
		if sig, ok := st.(store.Signaler); ok {
			cfg.Shared, cfg.Signals = true, sig
		}
		e, err := engine.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Resume(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = e.Close(context.Background())
			_ = st.Close()
		})
		engines = append(engines, e)
	}
	spec := "name: bench\nsteps:\n  - {name: s0, command: [\"true\"]}\n  - {name: s1, command: [\"true\"]}\n  - {name: s2, command: [\"true\"]}\n"
	if _, _, err := engines[0].Apply(ctx, "bench.yaml", []byte(spec)); err != nil {
		b.Fatal(err)
	}
	return engines
}

// runOn submits one run of the bench pipeline to e and waits for its end.
func runOn(b *testing.B, e *engine.Engine) {
	ctx := context.Background()
	run, err := e.Submit(ctx, &engine.SubmitParams{Pipeline: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	r, err := e.Wait(ctx, run.ID)
	if err != nil {
		b.Fatal(err)
	}
	if r.Status != store.RunSucceeded {
		b.Fatalf("run %s: %s %s", r.ID, r.Status, r.Error)
	}
}

// BenchmarkStores compares the stores under the engine: per-step overhead
// of one 3-step run at a time, and steps per second of 100 concurrent runs
// spread over the servers, on SQLite and on PostgreSQL with one and with
// three servers. PostgreSQL needs BATON_TEST_POSTGRES (see .ci/pg-up).
func BenchmarkStores(b *testing.B) {
	for _, tc := range []struct {
		name    string
		kind    string
		servers int
	}{
		{"sqlite", "sqlite", 1},
		{"postgres-1", "postgres", 1},
		{"postgres-3", "postgres", 3},
	} {
		b.Run(tc.name+"/StepOverhead", func(b *testing.B) {
			engines := benchFleet(b, tc.kind, tc.servers)
			var per []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				runOn(b, engines[i%len(engines)])
				per = append(per, time.Since(start)/3)
				i++
			}
			reportPercentiles(b, per, "step")
		})
		b.Run(tc.name+"/Throughput", func(b *testing.B) {
			engines := benchFleet(b, tc.kind, tc.servers)
			const runs = 100
			start := time.Now()
			var next atomic.Int64
			for b.Loop() {
				var wg sync.WaitGroup
				for range runs {
					e := engines[next.Add(1)%int64(len(engines))]
					wg.Go(func() { runOn(b, e) })
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.N*runs*3)/time.Since(start).Seconds(), "steps/s")
		})
	}
}
