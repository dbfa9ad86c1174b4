package webui

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/metrics"
	"github.com/baton-dev/baton/internal/store"
)

// healthData is the health page: what the original Azure design watched
// by hand, on one page.
type healthData struct {
	Days int
	// DaysChoices are the windows the page offers.
	DaysChoices []int
	// Chart is runs per day over the window, all pipelines.
	Chart *dayChart
	// Pipelines total the window per pipeline.
	Pipelines []pipelineHealth
	// ByDay is each day of each pipeline, newest first.
	ByDay           []*store.RunDayStats
	Queued, Running int
	Dead            []runRow
	Leftovers       []leftover
	Queues          []metrics.QueueCount
	// StatsAt is when the per-day statistics were read: they are kept for
	// statsTTL, since reading them reads every run of the window.
	StatsAt time.Time
}

func (d *healthData) title() (string, string) { return "Health", "health" }

type pipelineHealth struct {
	Pipeline                string
	Runs, Failed, Succeeded int
	FailureRate             string
	P50, P95                string
}

// leftover is an attempt whose container (or Job, or group) is not known
// removed.
type leftover struct {
	Run, Step, Executor, Error string
	Attempt, Tries             int
	Finished                   time.Time
}

// dayChart is a bar per day: succeeded, failed and canceled stacked.
type dayChart struct {
	Width, Height int
	Bars          []dayBar
	Max           int
}

type dayBar struct {
	X, W                                   int
	Label                                  string
	Day                                    time.Time
	Runs                                   int
	OkY, OkH, FailY, FailH, OtherY, OtherH int
}

func (u *UI) healthPage(w http.ResponseWriter, r *http.Request, usr *user) {
	ctx := r.Context()
	d := &healthData{Days: 14, DaysChoices: []int{1, 7, 14, 30}}
	if n, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil && slices.Contains(d.DaysChoices, n) {
		d.Days = n
	}
	now := u.o.Now().UTC()
	since := now.Truncate(24*time.Hour).AddDate(0, 0, -(d.Days - 1))
	stats, at, err := u.runStats(r, since)
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	d.StatsAt = at
	counts, err := u.o.Store.RunCount(ctx, []store.RunStatus{store.RunQueued, store.RunRunning})
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	d.Queued, d.Running = counts[store.RunQueued], counts[store.RunRunning]
	d.Chart = chartOf(stats, since, d.Days)
	d.Pipelines = pipelineTotals(stats)
	d.ByDay = slices.Clone(stats)
	slices.SortStableFunc(d.ByDay, func(a, b *store.RunDayStats) int { return b.Day.Compare(a.Day) })
	dead, err := u.o.Store.RunList(ctx, &store.RunListParams{Statuses: []store.RunStatus{store.RunFailed}, Since: since, Limit: 20})
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	for _, run := range dead {
		d.Dead = append(d.Dead, runRowOf(run, now))
	}
	left, err := u.o.Store.AttemptListUnremoved(ctx)
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	for _, a := range left {
		d.Leftovers = append(d.Leftovers, leftover{Run: a.RunID, Step: a.Step, Attempt: a.Attempt, Executor: a.Executor,
			Error: a.CleanupError, Tries: a.CleanupTries, Finished: a.FinishedAt})
	}
	slices.SortFunc(d.Leftovers, func(a, b leftover) int { return b.Finished.Compare(a.Finished) })
	if len(d.Leftovers) > 100 {
		d.Leftovers = d.Leftovers[:100]
	}
	if d.Queues, err = u.o.Engine.Metrics().QueueCounts(); err != nil {
		u.log.Error("web ui: queue counts", "err", err)
	}
	u.render(w, r, usr, http.StatusOK, "health", d)
}

// pipelineTotals adds up each pipeline's days. The percentiles shown are
// the worst day's: days' percentiles cannot be merged exactly, and the
// worst is what an operator looks for.
func pipelineTotals(stats []*store.RunDayStats) []pipelineHealth {
	by := make(map[string]*pipelineHealth)
	worst := make(map[string][2]time.Duration)
	for _, s := range stats {
		p := by[s.Pipeline]
		if p == nil {
			p = &pipelineHealth{Pipeline: s.Pipeline}
			by[s.Pipeline] = p
		}
		p.Runs += s.Runs()
		p.Failed += s.Failed
		p.Succeeded += s.Succeeded
		w := worst[s.Pipeline]
		worst[s.Pipeline] = [2]time.Duration{max(w[0], s.P50), max(w[1], s.P95)}
	}
	out := make([]pipelineHealth, 0, len(by))
	for name, p := range by {
		if ended := p.Failed + p.Succeeded; ended > 0 {
			p.FailureRate = strconv.FormatFloat(100*float64(p.Failed)/float64(ended), 'f', 1, 64) + "%"
		}
		if w := worst[name]; w[1] > 0 {
			p.P50, p.P95 = fmtDuration(w[0]), fmtDuration(w[1])
		}
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b pipelineHealth) int { return cmp.Compare(a.Pipeline, b.Pipeline) })
	return out
}

// chartOf draws runs per day, every pipeline together.
func chartOf(stats []*store.RunDayStats, since time.Time, days int) *dayChart {
	const barW, gap, height = 28, 6, 120
	c := &dayChart{Width: days * (barW + gap), Height: height}
	type tot struct{ ok, fail, other int }
	per := make([]tot, days)
	for _, s := range stats {
		i := int(s.Day.Sub(since) / (24 * time.Hour))
		if i < 0 || i >= days {
			continue
		}
		per[i].ok += s.Succeeded
		per[i].fail += s.Failed
		per[i].other += s.Canceled + s.Queued + s.Running
	}
	for _, t := range per {
		c.Max = max(c.Max, t.ok+t.fail+t.other)
	}
	scale := func(n int) int {
		if c.Max == 0 {
			return 0
		}
		return n * (height - 16) / c.Max
	}
	for i, t := range per {
		day := since.AddDate(0, 0, i)
		b := dayBar{X: i * (barW + gap), W: barW, Day: day, Label: day.Format("02"), Runs: t.ok + t.fail + t.other}
		b.OkH, b.FailH, b.OtherH = scale(t.ok), scale(t.fail), scale(t.other)
		base := height - 14
		b.OkY = base - b.OkH
		b.FailY = b.OkY - b.FailH
		b.OtherY = b.FailY - b.OtherH
		c.Bars = append(c.Bars, b)
	}
	return c
}

// statsTTL is how long the health page's per-day statistics are kept.
const statsTTL = 30 * time.Second

// statsCache keeps the latest statistics of each window start.
type statsCache struct {
	mu    sync.Mutex
	since time.Time
	at    time.Time
	stats []*store.RunDayStats
}

// runStats returns the statistics of the runs created since since, read
// from the store at most every statsTTL, and when they were read.
func (u *UI) runStats(r *http.Request, since time.Time) ([]*store.RunDayStats, time.Time, error) {
	c := &u.stats
	c.mu.Lock()
	defer c.mu.Unlock()
	now := u.o.Now()
	if c.since.Equal(since) && now.Sub(c.at) < statsTTL && !now.Before(c.at) {
		return c.stats, c.at, nil
	}
	stats, err := u.o.Store.RunStats(r.Context(), &store.RunStatsParams{Since: since})
	if err != nil {
		return nil, time.Time{}, err
	}
	c.since, c.at, c.stats = since, now, stats
	return stats, now, nil
}
