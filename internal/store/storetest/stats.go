package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// testRunStats: RunStats counts the runs created within its bounds by UTC
// day of creation and pipeline, by status, with the percentiles of the
// times of the ended runs that had started; by day, then pipeline.
func testRunStats(t *testing.T, s store.Store) {
	ctx := t.Context()
	stats, err := s.RunStats(ctx, &store.RunStatsParams{})
	must(t, err, "RunStats of an empty store")
	if len(stats) != 0 {
		t.Fatalf("RunStats of an empty store: %d days", len(stats))
	}
	dayA := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	dayB := dayA.Add(24 * time.Hour)
	plus1 := time.FixedZone("UTC+1", 3600)
	for _, r := range []struct {
		id, pipeline string
		created      time.Time
		// started is how long after creation it ran, if it did; took is
		// how long it ran before it ended as end.
		started   time.Duration
		end       store.RunStatus
		took      time.Duration
		neverRan  bool
		keepState bool
	}{
		{id: "old", pipeline: "build", created: dayA.Add(-1), end: store.RunSucceeded, neverRan: true},
		{id: "b1", pipeline: "build", created: dayA, started: time.Minute, end: store.RunSucceeded, took: 60 * time.Second},
		{id: "b2", pipeline: "build", created: dayA.Add(time.Hour), end: store.RunFailed, took: 10 * time.Second},
		{id: "b3", pipeline: "build", created: dayA.Add(2 * time.Hour), end: store.RunSucceeded, took: 30 * time.Second},
		{id: "b4", pipeline: "build", created: dayA.Add(3 * time.Hour), end: store.RunCanceled, neverRan: true},
		{id: "b5", pipeline: "build", created: dayA.Add(4 * time.Hour), end: store.RunQueued, neverRan: true, keepState: true},
		{id: "b6", pipeline: "build", created: dayA.Add(5 * time.Hour), end: store.RunRunning, keepState: true},
		// Half past midnight at UTC+1 is the day before in UTC.
		{id: "b7", pipeline: "build", created: time.Date(2026, 3, 2, 0, 30, 0, 123, plus1), end: store.RunCanceled, took: 20 * time.Second},
		{id: "b8", pipeline: "build", created: dayB.Add(-1), started: time.Second, end: store.RunSucceeded, took: 40 * time.Second},
		{id: "a1", pipeline: "alpha", created: dayA.Add(6 * time.Hour), end: store.RunSucceeded, took: 5 * time.Second},
		{id: "c1", pipeline: "build", created: dayB, end: store.RunSucceeded, took: 100 * time.Second},
		{id: "c2", pipeline: "build", created: dayB.Add(time.Hour), end: store.RunFailed, neverRan: true},
		{id: "late", pipeline: "build", created: dayB.Add(24 * time.Hour), end: store.RunSucceeded, took: time.Second},
	} {
		createRunWith(t, s, r.id, r.pipeline, r.created, nil)
		start := r.created.Add(r.started)
		if !r.neverRan {
			must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: r.id, Status: store.RunRunning, Now: start}), "RunSetStatus running "+r.id)
		}
		if !r.keepState {
			must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: r.id, Status: r.end, Now: start.Add(r.took)}), "RunSetStatus "+r.id)
		}
	}
	day := func(d *store.RunDayStats) string {
		return fmt.Sprintf("%s %s: queued %d running %d succeeded %d failed %d canceled %d; %d timed, p50 %s p95 %s",
			d.Day.Format(time.RFC3339Nano), d.Pipeline, d.Queued, d.Running, d.Succeeded, d.Failed, d.Canceled, d.Timed, d.P50, d.P95)
	}
	days := func(p store.RunStatsParams) []string {
		t.Helper()
		stats, err := s.RunStats(ctx, &p)
		must(t, err, "RunStats")
		var out []string
		for _, d := range stats {
			out = append(out, day(d))
			if d.Day.Location() != time.UTC {
				t.Errorf("%s: the day is in %v, want UTC", day(d), d.Day.Location())
			}
		}
		return out
	}
	within := []string{
		"2026-03-01T00:00:00Z alpha: queued 0 running 0 succeeded 1 failed 0 canceled 0; 1 timed, p50 5s p95 5s",
		// Times 10s, 20s, 30s, 40s, 60s: nearest ranks 3 and 5.
		"2026-03-01T00:00:00Z build: queued 1 running 1 succeeded 3 failed 1 canceled 2; 5 timed, p50 30s p95 1m0s",
		"2026-03-02T00:00:00Z build: queued 0 running 0 succeeded 1 failed 1 canceled 0; 1 timed, p50 1m40s p95 1m40s",
	}
	if got := days(store.RunStatsParams{Since: dayA, Until: dayB.Add(24 * time.Hour)}); !slices.Equal(got, within) {
		t.Errorf("RunStats of two days:\n got %q\nwant %q", got, within)
	}
	all := append([]string{"2026-02-28T00:00:00Z build: queued 0 running 0 succeeded 1 failed 0 canceled 0; 0 timed, p50 0s p95 0s"}, within...)
	all = append(all, "2026-03-03T00:00:00Z build: queued 0 running 0 succeeded 1 failed 0 canceled 0; 1 timed, p50 1s p95 1s")
	if got := days(store.RunStatsParams{}); !slices.Equal(got, all) {
		t.Errorf("RunStats of every run:\n got %q\nwant %q", got, all)
	}
	if got := days(store.RunStatsParams{Since: dayB.Add(time.Hour + 1)}); !slices.Equal(got, all[4:]) {
		t.Errorf("RunStats since a time:\n got %q\nwant %q", got, all[4:])
	}
	if got := days(store.RunStatsParams{Until: dayA}); !slices.Equal(got, all[:1]) {
		t.Errorf("RunStats until a time:\n got %q\nwant %q", got, all[:1])
	}
}

// testRunCount: RunCount counts the runs in each status asked for, 0 for
// none, every status when none is named; an unknown status is refused.
func testRunCount(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, st := range []store.RunStatus{store.RunQueued, store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunQueued, store.RunFailed} {
		id := fmt.Sprintf("r%d", i)
		createRunWith(t, s, id, fmt.Sprintf("p%d", i%2), at(i), nil)
		if st != store.RunQueued {
			must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: st, Now: at(i)}), "RunSetStatus "+id)
		}
	}
	for _, tc := range []struct {
		statuses []store.RunStatus
		want     map[store.RunStatus]int
	}{
		{[]store.RunStatus{store.RunQueued, store.RunRunning}, map[store.RunStatus]int{store.RunQueued: 3, store.RunRunning: 1}},
		{[]store.RunStatus{store.RunCanceled}, map[store.RunStatus]int{store.RunCanceled: 0}},
		{nil, map[store.RunStatus]int{store.RunQueued: 3, store.RunRunning: 1, store.RunSucceeded: 1, store.RunFailed: 1, store.RunCanceled: 0}},
	} {
		got, err := s.RunCount(ctx, tc.statuses)
		must(t, err, fmt.Sprintf("RunCount %q", tc.statuses))
		if !maps.Equal(got, tc.want) {
			t.Errorf("RunCount %q: got %v, want %v", tc.statuses, got, tc.want)
		}
	}
	if got, err := s.RunCount(ctx, []store.RunStatus{store.RunQueued, "paused"}); err == nil {
		t.Errorf("RunCount of an unknown status: got %v, want an error", got)
	}
}
