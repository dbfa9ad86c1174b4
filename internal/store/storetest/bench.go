package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// EnvBenchRuns names the variable that sets how many runs [Bench] fills a
// store with before it times reads: 10,000 unless it says otherwise (the
// docs' figures use 1,000,000).
const EnvBenchRuns = "BATON_BENCH_RUNS"

// Bench times a store the way a server uses it, on stores open makes
// (open closes them when b ends):
//
//   - StepCycle: a one-step run from creation to its end, with its status
//     changes, handle, outputs and two log lines; serial, and from many
//     goroutines at once as concurrent runs do. It reports steps/s.
//   - RunGet, RunList (the newest page, one pipeline's, one status's, and
//     by a param one run has, over every run and over one pipeline's),
//     RunStats (over the newest [FillStatsRuns]) and RunCount (queued and
//     running) on a store holding BATON_BENCH_RUNS runs of 3 steps, most
//     of them ended;
//     with a fill, also LogList (one step's lines) and LogFollow (what
//     logs -f asks at each change), among FillLogLines lines per run;
//     then it prunes every ended run and logs how fast.
//
// fill, if not nil, fills the store for the reads faster than the Store
// interface can (a million runs take minutes through it), with the runs
// [FillRun] describes; nil fills through the interface.
//
// Nothing is asserted about the times: they are for reading.
func Bench(b *testing.B, open func(b *testing.B) store.Store, fill func(b *testing.B, runs int)) {
	b.Run("StepCycle", func(b *testing.B) {
		s := open(b)
		var n atomic.Int64
		b.Run("serial", func(b *testing.B) {
			for b.Loop() {
				stepCycle(b, s, n.Add(1))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
		})
		b.Run("parallel", func(b *testing.B) {
			b.SetParallelism(8) // 16 goroutines on 2 cores: steps of many runs at once
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					stepCycle(b, s, n.Add(1))
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
		})
	})
	b.Run("Reads", func(b *testing.B) {
		runs := 10000
		if v := os.Getenv(EnvBenchRuns); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 {
				b.Fatalf("%s=%q: want a number of runs, 100 or more", EnvBenchRuns, v)
			}
			runs = n
		}
		s := open(b)
		start := time.Now()
		if fill != nil {
			fill(b, runs)
		} else {
			fillThrough(b, s, runs)
		}
		b.Logf("filled the store with %d runs in %s", runs, time.Since(start).Round(time.Millisecond))
		for _, i := range []int{0, 1, 10, runs - 1} {
			want := FillRun(i)
			got, err := s.RunGet(b.Context(), want.ID)
			if err != nil || got.Pipeline != want.Pipeline || got.Status != want.Status || got.Params["n"] != want.Params["n"] ||
				!got.CreatedAt.Equal(want.CreatedAt) || !got.StartedAt.Equal(want.StartedAt) || !got.FinishedAt.Equal(want.FinishedAt) {
				b.Fatalf("the fill's run %d is %+v, %v; FillRun says %+v", i, got, err, want)
			}
		}
		b.Run("RunGet", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.RunGet(b.Context(), benchRunID(rand.IntN(runs))); err != nil {
					b.Fatal(err)
				}
			}
		})
		if fill != nil {
			b.Run("LogList", func(b *testing.B) {
				for b.Loop() {
					rows, err := s.LogList(b.Context(), &store.LogListParams{RunID: benchRunID(rand.IntN(runs)), Step: "build"})
					if err != nil || len(rows) != FillLogLines {
						b.Fatalf("LogList: %d lines, %v", len(rows), err)
					}
				}
			})
			b.Run("LogFollow", func(b *testing.B) {
				// What logs -f asks at each change: the lines after the
				// last one it has, none here.
				for b.Loop() {
					id := benchRunID(rand.IntN(runs))
					rows, err := s.LogList(b.Context(), &store.LogListParams{RunID: id, Step: "build", AfterSeq: 1 << 62})
					if err != nil || len(rows) != 0 {
						b.Fatalf("LogList after the end: %d lines, %v", len(rows), err)
					}
				}
			})
		}
		// A params filter on a value one run has: the walk goes through
		// the whole history (or the pipeline's) to fill its page.
		rare := runs/2/20*20 + 7 // of pipeline-7
		for _, tc := range []struct {
			name string
			p    store.RunListParams
		}{
			{"RunListNewest", store.RunListParams{}},
			{"RunListPipeline", store.RunListParams{Pipeline: "pipeline-7"}},
			{"RunListRunning", store.RunListParams{Statuses: []store.RunStatus{store.RunRunning}}},
			{"RunListParam", store.RunListParams{Params: map[string]string{"n": strconv.Itoa(rare)}}},
			{"RunListParamPipeline", store.RunListParams{Pipeline: "pipeline-7", Params: map[string]string{"n": strconv.Itoa(rare)}}},
		} {
			b.Run(tc.name, func(b *testing.B) {
				for b.Loop() {
					rows, err := s.RunList(b.Context(), &tc.p)
					if err != nil || len(rows) == 0 || tc.p.Params != nil && len(rows) != 1 {
						b.Fatalf("RunList: %d runs, %v", len(rows), err)
					}
				}
			})
		}
		// The health page's figures over the newest runs, up to
		// FillStatsRuns of them (a day and more of a run a second).
		since := FillRun(max(runs-FillStatsRuns, 0)).CreatedAt
		b.Run("RunStats", func(b *testing.B) {
			for b.Loop() {
				days, err := s.RunStats(b.Context(), &store.RunStatsParams{Since: since})
				if err != nil || len(days) == 0 || days[0].Timed == 0 {
					b.Fatalf("RunStats: %d days, %v", len(days), err)
				}
			}
		})
		b.Run("RunCount", func(b *testing.B) {
			for b.Loop() {
				n, err := s.RunCount(b.Context(), []store.RunStatus{store.RunQueued, store.RunRunning})
				if err != nil || n[store.RunRunning] != (runs+99)/100 {
					b.Fatalf("RunCount: %v, %v", n, err)
				}
			}
		})
		// Last, as it empties the store: every ended run goes, with its
		// steps, attempts and logs, in the store's bounded batches.
		start = time.Now()
		n, err := s.RunPrune(b.Context(), &store.RunPruneParams{Before: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.Logf("pruned %d runs in %s: %.0f runs/s", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	})
}

// stepCycle is one no-op step's whole life in the store.
func stepCycle(b *testing.B, s store.Store, i int64) {
	ctx := context.Background()
	id := fmt.Sprintf("cycle-%d", i)
	now := time.Now()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	_, err := s.RunCreate(ctx, &store.RunCreateParams{ID: id, Pipeline: "bench", Revision: 1, Executor: "noop",
		Vars: map[string]string{"A": "1"}, Steps: []string{"noop"}, Now: now, Owner: "bench", LeaseUntil: now.Add(time.Minute)})
	must(err)
	must(s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: store.RunRunning, Now: now, Epoch: 1}))
	must(s.StepStart(ctx, &store.StepStartParams{RunID: id, Name: "noop", Attempt: 1,
		TokenHash: []byte("0123456789abcdef0123456789abcdef"), Now: now, Epoch: 1}))
	must(s.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: id, Name: "noop", Attempt: 1, Handle: []byte(`{"id":"x"}`), Epoch: 1}))
	must(s.LogAppend(ctx, &store.LogAppendParams{RunID: id, Step: "noop", Attempt: 1, Epoch: 1, Lines: []store.LogLine{
		{Time: now, Stream: "stdout", Text: "hello"}, {Time: now, Stream: "stderr", Text: "world"}}}))
	code := 0
	must(s.StepFinish(ctx, &store.StepFinishParams{RunID: id, Name: "noop", Attempt: 1, Status: store.StepSucceeded,
		ExitCode: &code, Outputs: map[string]string{"B": "2"}, Now: now, Epoch: 1}))
	must(s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: store.RunSucceeded, Now: now, Epoch: 1}))
}

func benchRunID(i int) string { return fmt.Sprintf("run-%08d", i) }

// FillRun is run i of the runs a fill for [Bench] makes: ID run-%08d of i,
// pipeline pipeline-(i%20), params {"n": i}, executor noop, steps fetch,
// build and test all pending, created at FillBase + i seconds and started
// a second after; 1 in 100 running, 1 in 10 of the rest failed and the
// others succeeded, finished 1 + i%60 seconds after they started.
func FillRun(i int) *store.RunRow {
	created := FillBase.Add(time.Duration(i) * time.Second)
	r := &store.RunRow{ID: benchRunID(i), Pipeline: fmt.Sprintf("pipeline-%d", i%20), Revision: 1,
		Params: map[string]string{"n": strconv.Itoa(i)}, Executor: "noop", CreatedAt: created, Status: store.RunSucceeded,
		StartedAt: created.Add(time.Second)}
	switch {
	case i%100 == 0:
		r.Status = store.RunRunning
	case i%10 == 0:
		r.Status = store.RunFailed
	}
	if r.Status.Terminal() {
		r.FinishedAt = r.StartedAt.Add(time.Duration(1+i%60) * time.Second)
	}
	return r
}

// FillStatsRuns is how many of the newest runs of a fill [Bench] times
// RunStats over.
const FillStatsRuns = 100000

// FillLogLines is how many log lines a fill gives each run: its step build
// has one attempt that printed them (ten million lines for a million runs).
const FillLogLines = 10

// FillBase is when the first run of a fill was created.
var FillBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fillThrough makes the runs of [FillRun] through the Store interface,
// from 8 goroutines.
func fillThrough(b *testing.B, s store.Store, runs int) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make(chan error, 8)
	)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= runs {
					return
				}
				if err := fillOne(s, FillRun(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func fillOne(s store.Store, r *store.RunRow) error {
	ctx := context.Background()
	_, err := s.RunCreate(ctx, &store.RunCreateParams{ID: r.ID, Pipeline: r.Pipeline, Revision: r.Revision,
		Executor: r.Executor, Params: r.Params, Steps: []string{"fetch", "build", "test"}, Now: r.CreatedAt})
	if err != nil {
		return err
	}
	if err := s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: r.ID, Status: store.RunRunning, Now: r.StartedAt}); err != nil || !r.Status.Terminal() {
		return err
	}
	return s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: r.ID, Status: r.Status, Now: r.FinishedAt})
}
