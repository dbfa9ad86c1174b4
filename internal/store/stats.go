package store

import (
	"cmp"
	"slices"
	"time"
)

// RunStatsParams are the arguments of [Store.RunStats].
type RunStatsParams struct {
	// Since and Until, when set, bound the runs' creation time: Since <=
	// created < Until. The work grows with the runs between them.
	Since, Until time.Time
}

// RunDayStats is how the runs of one pipeline created on one UTC day
// stand.
type RunDayStats struct {
	// Day is the midnight, in UTC, that began the day the runs were
	// created.
	Day      time.Time
	Pipeline string
	// The runs by status: still queued or running, or ended.
	Queued, Running, Succeeded, Failed, Canceled int
	// Timed is how many of the ended runs had started, and so took a
	// time: FinishedAt - StartedAt, 0 when a server's clock made it
	// negative. P50 and P95 are the 50th and 95th percentiles of those
	// times (see [Percentile]); 0 when Timed is.
	Timed    int
	P50, P95 time.Duration
}

// Runs is how many runs the day holds, whatever their status.
func (d *RunDayStats) Runs() int {
	return d.Queued + d.Running + d.Succeeded + d.Failed + d.Canceled
}

// RunStatsTally builds the answer of [Store.RunStats] from the runs a
// store reads, in any order, so that every store counts alike. The zero
// value is ready to use.
type RunStatsTally struct {
	days map[dayPipeline]*tallyDay
}

type dayPipeline struct {
	day      int64 // unix seconds of the day's midnight
	pipeline string
}

type tallyDay struct {
	stats RunDayStats
	times []time.Duration
}

// Add counts one run.
func (t *RunStatsTally) Add(pipeline string, status RunStatus, created, started, finished time.Time) {
	if t.days == nil {
		t.days = make(map[dayPipeline]*tallyDay)
	}
	day := created.UTC().Truncate(24 * time.Hour)
	key := dayPipeline{day.Unix(), pipeline}
	d := t.days[key]
	if d == nil {
		d = &tallyDay{stats: RunDayStats{Day: day, Pipeline: pipeline}}
		t.days[key] = d
	}
	switch status {
	case RunQueued:
		d.stats.Queued++
	case RunRunning:
		d.stats.Running++
	case RunSucceeded:
		d.stats.Succeeded++
	case RunFailed:
		d.stats.Failed++
	case RunCanceled:
		d.stats.Canceled++
	default:
		return
	}
	if status.Terminal() && !started.IsZero() && !finished.IsZero() {
		d.times = append(d.times, max(finished.Sub(started), 0))
	}
}

// Stats returns the days counted, by day and then by pipeline (bytewise).
func (t *RunStatsTally) Stats() []*RunDayStats {
	out := make([]*RunDayStats, 0, len(t.days))
	for _, d := range t.days {
		slices.Sort(d.times)
		d.stats.Timed = len(d.times)
		d.stats.P50 = Percentile(d.times, 50)
		d.stats.P95 = Percentile(d.times, 95)
		out = append(out, &d.stats)
	}
	slices.SortFunc(out, func(a, b *RunDayStats) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Pipeline, b.Pipeline))
	})
	return out
}

// Percentile is the p-th percentile (1 to 100) of sorted, which is in
// ascending order, by nearest rank: the smallest value that at least p
// percent of the values are at most. It is always one of the values, and
// 0 for none.
func Percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*min(max(p, 1), 100) + 99) / 100 // ceil(n*p/100), from 1
	return sorted[rank-1]
}
