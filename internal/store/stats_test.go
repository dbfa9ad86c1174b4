package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

func TestPercentile(t *testing.T) {
	s := func(secs ...int) []time.Duration {
		out := make([]time.Duration, len(secs))
		for i, n := range secs {
			out[i] = time.Duration(n) * time.Second
		}
		return out
	}
	ten := s(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for _, tc := range []struct {
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{s(7), 50, 7 * time.Second},
		{s(7), 95, 7 * time.Second},
		{s(1, 2), 50, time.Second}, // rank ceil(1.0) = 1
		{s(1, 2, 3, 4), 50, 2 * time.Second},
		{s(1, 2, 3, 4, 5), 50, 3 * time.Second},
		{ten, 95, 10 * time.Second}, // rank ceil(9.5) = 10
		{ten, 90, 9 * time.Second},
		{ten, 91, 10 * time.Second},
		{ten, 10, time.Second},
		{ten, 100, 10 * time.Second},
		{ten, 0, time.Second}, // below 1 is 1
		{ten, 200, 10 * time.Second},
	} {
		if got := store.Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %d) = %v, want %v", tc.sorted, tc.p, got, tc.want)
		}
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	if got := store.Percentile(hundred, 95); got != 95*time.Millisecond {
		t.Errorf("95th of 1..100 ms = %v, want 95ms", got)
	}
}

func TestRunStatsTally(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	east := time.FixedZone("UTC+5", 5*3600)
	var tally store.RunStatsTally
	if got := tally.Stats(); len(got) != 0 {
		t.Fatalf("an empty tally: %d days", len(got))
	}
	add := func(pipeline string, status store.RunStatus, created time.Time, started, took time.Duration) {
		var start, end time.Time
		if started >= 0 {
			start = created.Add(started)
		}
		if status.Terminal() {
			end = created.Add(max(started, 0) + took)
		}
		tally.Add(pipeline, status, created, start, end)
	}
	// Added out of order, in zones other than UTC.
	add("z", store.RunSucceeded, day.Add(30*time.Hour), 0, 4*time.Second)
	add("b", store.RunFailed, day.Add(2*time.Hour).In(east), 0, 3*time.Second)
	add("b", store.RunSucceeded, day.Add(time.Hour), 0, time.Second)
	add("b", store.RunSucceeded, day, 0, 2*time.Second)
	add("b", store.RunCanceled, day.Add(3*time.Hour), -1, 0)              // never started: not timed
	add("b", store.RunSucceeded, day.Add(4*time.Hour), 0, -5*time.Second) // a clock that went back: 0
	add("b", store.RunRunning, day.Add(5*time.Hour), 0, 0)
	add("b", store.RunQueued, day.Add(24*time.Hour-1), -1, 0)
	// No status of a run: not counted.
	add("b", "paused", day, 0, time.Second)
	// 04:00 the next day at UTC+5, still the first day in UTC.
	add("a", store.RunSucceeded, day.Add(23*time.Hour).In(east), 0, 9*time.Second)
	var got []string
	for _, d := range tally.Stats() {
		got = append(got, fmt.Sprintf("%s %s %d/%d/%d/%d/%d %d %s %s", d.Day.Format(time.RFC3339), d.Pipeline,
			d.Queued, d.Running, d.Succeeded, d.Failed, d.Canceled, d.Timed, d.P50, d.P95))
		if d.Runs() != d.Queued+d.Running+d.Succeeded+d.Failed+d.Canceled {
			t.Errorf("%s %s: Runs() = %d", d.Day, d.Pipeline, d.Runs())
		}
	}
	want := []string{
		"2026-03-01T00:00:00Z a 0/0/1/0/0 1 9s 9s",
		// Times 0s, 1s, 2s, 3s.
		"2026-03-01T00:00:00Z b 1/1/3/1/1 4 1s 3s",
		"2026-03-02T00:00:00Z z 0/0/1/0/0 1 4s 4s",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Stats:\n got %q\nwant %q", got, want)
	}
}
