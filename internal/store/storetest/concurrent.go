package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// testConcurrent has many goroutines write and read at once, as callbacks
// and log pumps do: every call must succeed (no "database is locked").
func testConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const workers, each = 8, 25
	createRun(t, s, "r", "p", t0, "s")
	startStep(t, s, "r", "s", 1)

	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("k_%d_%d", w, i)
				errs <- s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: "s", Attempt: 1,
					Outputs: map[string]string{key: key, "last": key}})
				errs <- s.LogAppend(ctx, &store.LogAppendParams{RunID: "r", Step: "s", Attempt: 1,
					Lines: []store.LogLine{{Time: t0, Stream: "stdout", Text: key}, {Time: t0, Stream: "stderr", Text: key}}})
				id := fmt.Sprintf("run_%d_%d", w, i)
				_, err := s.RunCreate(ctx, &store.RunCreateParams{ID: id, Pipeline: "p", Steps: []string{"a", "b"}, Now: t0})
				errs <- err
				_, err = s.AttemptGet(ctx, "r", "s", 1)
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent call")
	}

	a := attemptOf(t, s, "r", "s", 1)
	if len(a.Outputs) != workers*each+1 {
		t.Fatalf("outputs after concurrent adds: got %d keys, want %d", len(a.Outputs), workers*each+1)
	}
	for k, v := range a.Outputs {
		if k != "last" && k != v {
			t.Fatalf("output %q: got %q", k, v)
		}
	}
	lines, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s"})
	must(t, err, "LogList")
	if len(lines) != workers*each*2 {
		t.Fatalf("lines after concurrent appends: got %d, want %d", len(lines), workers*each*2)
	}
	// A batch is stored together: its two lines are adjacent.
	for i := 0; i < len(lines); i += 2 {
		if lines[i].Text != lines[i+1].Text {
			t.Fatalf("batch split: line %d %q, line %d %q", i, lines[i].Text, i+1, lines[i+1].Text)
		}
	}
	runs, err := s.RunList(ctx, &store.RunListParams{Pipeline: "p", Limit: 1000})
	must(t, err, "RunList")
	if len(runs) != workers*each+1 {
		t.Fatalf("runs after concurrent creates: got %d, want %d", len(runs), workers*each+1)
	}
}

// testRace has goroutines race for the same change: exactly one wins and
// the others get the sentinel error, never a backend error.
func testRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 12
	createRun(t, s, "r", "p", t0, "s")
	race := func(what string, lose error, call func() error) {
		t.Helper()
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { errs <- call() })
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, lose):
				t.Fatalf("%s: got error %v, want nil or %v", what, err, lose)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d calls succeeded, want 1", what, won)
		}
	}
	race("RunCreate", store.ErrExists, func() error {
		_, err := s.RunCreate(ctx, &store.RunCreateParams{ID: "dup", Pipeline: "p", Steps: []string{"a"}, Now: t0})
		return err
	})
	race("StepStart", store.ErrConflict, func() error {
		return s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "s", Attempt: 1, Now: t0})
	})
	race("StepFinish", store.ErrConflict, func() error {
		return s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "s", Attempt: 1,
			Status: store.StepSucceeded, ExitCode: intp(0), Now: at(1)})
	})
	race("RunSetStatus", store.ErrConflict, func() error {
		return s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunSucceeded, Now: at(2)})
	})
	if steps, err := s.StepList(ctx, "dup"); err != nil || len(steps) != 1 {
		t.Fatalf("StepList of the raced run: got %d steps, %v", len(steps), err)
	}
}
