package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

func TestPruneInBatches(t *testing.T) {
	p := &store.RunPruneParams{Before: time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("x", 3600))}
	for _, tc := range []struct {
		name    string
		batches []int // what each call deletes
		want    int
	}{
		{"nothing", []int{0}, 0},
		{"one short batch", []int{7}, 7},
		{"full, then short", []int{store.PruneBatch, store.PruneBatch, 3}, 2*store.PruneBatch + 3},
		{"full, then none", []int{store.PruneBatch, 0}, store.PruneBatch},
	} {
		calls := 0
		got, err := store.PruneInBatches(p, func() (int, error) {
			if calls >= len(tc.batches) {
				t.Fatalf("%s: called %d times, after a short batch", tc.name, calls+1)
			}
			calls++
			return tc.batches[calls-1], nil
		})
		if err != nil || got != tc.want || calls != len(tc.batches) {
			t.Errorf("%s: %d, %v after %d calls; want %d after %d", tc.name, got, err, calls, tc.want, len(tc.batches))
		}
	}

	// An error stops the prune, and what was deleted before still counts.
	boom := errors.New("disk full")
	calls := 0
	got, err := store.PruneInBatches(p, func() (int, error) {
		calls++
		if calls == 2 {
			return 0, boom
		}
		return store.PruneBatch, nil
	})
	if got != store.PruneBatch || !errors.Is(err, boom) {
		t.Fatalf("a failing batch: %d, %v; want %d and the error", got, err, store.PruneBatch)
	}
	wantErr(t, "a failing batch", err, "prune runs finished before 2026-03-01T12:00:00Z: disk full")
}
