package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// wantKeyTaken fails t unless err is a [*store.RunKeyExistsError] for key
// naming the run firstID, and got is that run.
func wantKeyTaken(t *testing.T, got *store.RunRow, err error, key, firstID, what string) {
	t.Helper()
	wantErr(t, err, store.ErrExists, what)
	var taken *store.RunKeyExistsError
	if !errors.As(err, &taken) {
		t.Fatalf("%s: got %v (%T), want a *store.RunKeyExistsError", what, err, err)
	}
	if taken.Key != key || taken.Run == nil || taken.Run.ID != firstID {
		t.Fatalf("%s: the error names key %q and run %+v, want key %q and run %s", what, taken.Key, taken.Run, key, firstID)
	}
	if got == nil || got.ID != firstID {
		t.Fatalf("%s: returned run %+v, want the run %s that has the key", what, got, firstID)
	}
}

func testRunCreateKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	create := func(id, key string) (*store.RunRow, error) {
		return s.RunCreate(ctx, &store.RunCreateParams{
			ID: id, Pipeline: "ingest", Revision: 1, Params: map[string]string{"from": id},
			Steps: []string{"one", "two"}, Key: key, Now: t0,
		})
	}
	_, err := create("r1", "azure_queue:q#m1")
	must(t, err, "RunCreate with a key")

	got, err := create("r2", "azure_queue:q#m1")
	wantKeyTaken(t, got, err, "azure_queue:q#m1", "r1", "RunCreate with a taken key")
	wantMap(t, got.Params, map[string]string{"from": "r1"}, "params of the run returned for a taken key")
	_, err = s.RunGet(ctx, "r2")
	wantErr(t, err, store.ErrNotFound, "RunGet of the run refused for its key")
	if steps, _ := s.StepList(ctx, "r2"); len(steps) != 0 {
		t.Fatalf("the run refused for its key has %d steps, want none", len(steps))
	}

	// A key stays taken once its run has ended: a message redelivered
	// after its run finished must not start another.
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r1", Status: store.RunSucceeded, Now: at(1)}), "RunSetStatus")
	got, err = create("r3", "azure_queue:q#m1")
	wantKeyTaken(t, got, err, "azure_queue:q#m1", "r1", "RunCreate with the key of an ended run")

	// Keys differ by every byte, case included; no key is no key.
	for _, c := range []struct{ id, key string }{
		{"r4", "azure_queue:q#M1"}, {"r5", "azure_queue:q#m2"}, {"r6", ""}, {"r7", ""},
	} {
		_, err := create(c.id, c.key)
		must(t, err, fmt.Sprintf("RunCreate %s with key %q", c.id, c.key))
	}

	// A taken ID is ErrExists, but not a taken key.
	_, err = create("r5", "azure_queue:q#m3")
	wantErr(t, err, store.ErrExists, "RunCreate with a taken ID")
	var taken *store.RunKeyExistsError
	if errors.As(err, &taken) {
		t.Fatalf("RunCreate with a taken ID and a free key: got %v, a *store.RunKeyExistsError", err)
	}
	// ... and the refused create did not take the key.
	_, err = create("r8", "azure_queue:q#m3")
	must(t, err, "RunCreate with the key of a refused create")

	runs, err := s.RunList(ctx, &store.RunListParams{})
	must(t, err, "RunList")
	if len(runs) != 6 {
		t.Fatalf("RunList: got runs %q, want r1 and r4 to r8", runIDs(runs))
	}

	// RunList finds a run by its key, and by nothing else.
	for key, want := range map[string][]string{
		"azure_queue:q#m1": {"r1"}, "azure_queue:q#M1": {"r4"}, "azure_queue:q#m3": {"r8"}, "azure_queue:q#m9": nil,
	} {
		runs, err := s.RunList(ctx, &store.RunListParams{Key: key})
		must(t, err, "RunList by key")
		if !slices.Equal(runIDs(runs), want) {
			t.Fatalf("RunList by key %q: got %q, want %q", key, runIDs(runs), want)
		}
	}
	runs, err = s.RunList(ctx, &store.RunListParams{Key: "azure_queue:q#m1", Statuses: []store.RunStatus{store.RunQueued}})
	must(t, err, "RunList by key and status")
	if len(runs) != 0 {
		t.Fatalf("RunList by the key of a succeeded run, queued only: got %q, want none", runIDs(runs))
	}
}

func testRunCreateKeyRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	type result struct {
		id  string
		run *store.RunRow
		err error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("r%d", i)
			run, err := s.RunCreate(ctx, &store.RunCreateParams{
				ID: id, Pipeline: "ingest", Revision: 1, Steps: []string{"one"}, Key: "msg-1", Now: at(i),
			})
			results <- result{id, run, err}
		})
	}
	wg.Wait()
	close(results)
	var winners []string
	var refused []result
	for r := range results {
		if r.err == nil {
			winners = append(winners, r.id)
			continue
		}
		refused = append(refused, r)
	}
	if len(winners) != 1 {
		t.Fatalf("RunCreate with one key raced by %d: %d created (%q), want 1", n, len(winners), winners)
	}
	for _, r := range refused {
		wantKeyTaken(t, r.run, r.err, "msg-1", winners[0], "RunCreate "+r.id+" that lost the race")
	}
	runs, err := s.RunList(ctx, &store.RunListParams{})
	must(t, err, "RunList")
	if len(runs) != 1 || runs[0].ID != winners[0] {
		t.Fatalf("after the race: runs %q, want only %s", runIDs(runs), winners[0])
	}
}
