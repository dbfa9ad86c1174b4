package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// Races between writers that a store with one writer never sees, and one
// with many (PostgreSQL) must order as if it had one.

// testLogFollow has writers append to one step while a reader follows the
// log by AfterSeq, as 'logs -f' does: the reader must see every line. A
// store whose lines become visible out of their sequence order makes the
// reader skip the late ones. Half the writers are a retried step's first
// attempt, whose late lines are kept too.
func testLogFollow(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, batches, lines = 4, 30, 3
	createRun(t, s, "r", "p", t0, "s")
	startStep(t, s, "r", "s", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "s", Attempt: 1,
		Status: store.StepRetrying, ExitCode: intp(1), Now: at(1)}), "StepFinish")
	startStep(t, s, "r", "s", 2)

	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				p := &store.LogAppendParams{RunID: "r", Step: "s", Attempt: 1 + w%2}
				for l := range lines {
					p.Lines = append(p.Lines, store.LogLine{Time: t0, Stream: "stdout", Text: fmt.Sprintf("%d-%d-%d", w, b, l)})
				}
				errs <- s.LogAppend(ctx, p)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[string]bool{}
	var after int64
	follow := func() int {
		t.Helper()
		page, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s", AfterSeq: after, Limit: 7})
		must(t, err, "LogList")
		for _, l := range page {
			if seen[l.Text] {
				t.Fatalf("line %q read twice while following", l.Text)
			}
			seen[l.Text] = true
			after = l.Seq
		}
		return len(page)
	}
	deadline := time.Now().Add(time.Minute)
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		for follow() > 0 {
		}
		if time.Now().After(deadline) {
			t.Fatal("writers did not finish within a minute")
		}
	}
	close(errs)
	for err := range errs {
		must(t, err, "LogAppend")
	}
	if len(seen) != writers*batches*lines {
		all, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s"})
		must(t, err, "LogList")
		t.Fatalf("following the log saw %d of %d lines stored", len(seen), len(all))
	}
}

// testFenceRace has the holder of a run write to it while another server
// claims the run: no write of the old holder may land after the new
// holder's first. The new holder's line comes after every old one.
func testFenceRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	for round := range 20 {
		id := fmt.Sprintf("r%d", round)
		createRun(t, s, id, "p", at(round), "s")
		if got := claim(t, s, "A", 0, store.RunClaimParams{IDs: []string{id}}); len(got) != 1 {
			t.Fatalf("round %d: A claims %q", round, runIDs(got))
		}
		must(t, s.StepStart(ctx, &store.StepStartParams{RunID: id, Name: "s", Attempt: 1, Now: at(1), Epoch: 1}), "StepStart")

		wrote := make(chan struct{})
		result := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				err := s.LogAppend(ctx, &store.LogAppendParams{RunID: id, Step: "s", Attempt: 1, Epoch: 1,
					Lines: []store.LogLine{{Time: at(2), Stream: "stdout", Text: "A"}}})
				if i == 0 {
					close(wrote)
				}
				if err != nil || i == 100000 {
					result <- err
					return
				}
			}
		}()
		<-wrote
		// A's writes lock the run for a moment each: a claim may pass it
		// by and take it the next time.
		var epoch int64
		for deadline := time.Now().Add(30 * time.Second); epoch == 0 && time.Now().Before(deadline); {
			if got := claim(t, s, "B", 20, store.RunClaimParams{IDs: []string{id}}); len(got) == 1 {
				epoch = got[0].Lease.Epoch
			}
		}
		if epoch != 2 {
			t.Fatalf("round %d: B did not claim the run A writes to", round)
		}
		must(t, s.LogAppend(ctx, &store.LogAppendParams{RunID: id, Step: "s", Attempt: 1, Epoch: 2,
			Lines: []store.LogLine{{Time: at(21), Stream: "stdout", Text: "B"}}}), "LogAppend of the new holder")
		if err := <-result; !errors.Is(err, store.ErrFenced) {
			t.Fatalf("round %d: the old holder's writes ended with %v, want ErrFenced", round, err)
		}
		logs, err := s.LogList(ctx, &store.LogListParams{RunID: id, Step: "s", Limit: 1 << 30})
		must(t, err, "LogList")
		if last := logs[len(logs)-1]; last.Text != "B" {
			i := slices.IndexFunc(logs, func(l *store.LogRow) bool { return l.Text == "B" })
			t.Fatalf("round %d: %d lines of the old holder landed after the new holder's", round, len(logs)-1-i)
		}
	}
}

// testMaxRunningRace starts attempts of many runs at once under one bound:
// exactly that many start.
func testMaxRunningRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const runs, max = 12, 4
	for i := range runs {
		createRun(t, s, fmt.Sprintf("r%02d", i), "p", at(i), "s")
	}
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			errs[i] = s.StepStart(ctx, &store.StepStartParams{RunID: fmt.Sprintf("r%02d", i), Name: "s", Attempt: 1,
				Now: at(20), MaxRunning: max})
		})
	}
	wg.Wait()
	started := 0
	for _, err := range errs {
		switch {
		case err == nil:
			started++
		case !errors.Is(err, store.ErrBusy):
			t.Fatalf("StepStart: got %v, want nil or ErrBusy", err)
		}
	}
	if started != max {
		t.Fatalf("%d attempts started at once under MaxRunning %d", started, max)
	}
}

// testGateRace admits a pipeline's queued runs all at once, round after
// round: never more than the gate's limit run, and never one while an
// older one waits.
func testGateRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const runs, limit = 8, 2
	var ids []string
	for i := range runs {
		ids = append(ids, fmt.Sprintf("r%d", i))
		createRun(t, s, ids[i], "p", at(i), "s")
	}
	admitted := 0
	for round := 0; admitted < runs; round++ {
		if round == 3*runs {
			t.Fatalf("%d of %d runs admitted after %d rounds", admitted, runs, round)
		}
		var wg sync.WaitGroup
		errs := make([]error, runs)
		for i, id := range ids[admitted:] {
			wg.Go(func() {
				errs[i] = s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: store.RunRunning, Now: at(100 + round),
					Gate: &store.Gate{Limit: limit}})
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.Is(err, store.ErrBusy) {
				t.Fatalf("round %d: RunSetStatus: %v", round, err)
			}
		}
		running, err := s.RunList(ctx, &store.RunListParams{Pipeline: "p", Statuses: []store.RunStatus{store.RunRunning}})
		must(t, err, "RunList")
		if len(running) > limit {
			t.Fatalf("round %d: %d runs running through a gate of %d", round, len(running), limit)
		}
		for _, r := range running {
			if i := slices.Index(ids, r.ID); i >= admitted+len(running) {
				t.Fatalf("round %d: %s was admitted while an older run waited", round, r.ID)
			}
		}
		for _, r := range running {
			must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: r.ID, Status: store.RunSucceeded, Now: at(100 + round)}), "end run")
		}
		admitted += len(running)
	}
}
