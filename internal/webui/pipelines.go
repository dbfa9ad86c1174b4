package webui

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/linediff"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

type pipelinesData struct {
	Pipelines []pipelineRow
}

func (d *pipelinesData) title() (string, string) { return "Pipelines", "pipelines" }

type pipelineRow struct {
	Name, Description string
	Revision          int
	Updated           time.Time
	Schedules         int
	Paused            bool
	Next              time.Time
}

func (u *UI) pipelinesPage(w http.ResponseWriter, r *http.Request, usr *user) {
	ctx := r.Context()
	rows, err := u.o.Store.PipelineList(ctx)
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	paused, err := u.pausedPipelines(r)
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	d := &pipelinesData{}
	now := u.o.Now()
	for _, p := range rows {
		row := pipelineRow{Name: p.Name, Revision: p.Revision, Updated: p.CreatedAt, Paused: !paused[p.Name].IsZero()}
		if spec, _, err := u.o.Engine.Spec(ctx, p.Name, p.Revision); err == nil {
			row.Description = spec.Description
			row.Schedules = len(spec.Schedules)
			for _, s := range spec.Schedules {
				if n := s.Next(now); !n.IsZero() && (row.Next.IsZero() || n.Before(row.Next)) {
					row.Next = n
				}
			}
		}
		d.Pipelines = append(d.Pipelines, row)
	}
	u.render(w, r, usr, http.StatusOK, "pipelines", d)
}

func (u *UI) pausedPipelines(r *http.Request) (map[string]time.Time, error) {
	rows, err := u.o.Store.SchedulePauseList(r.Context())
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(rows))
	for _, p := range rows {
		out[p.Pipeline] = p.PausedAt
	}
	return out, nil
}

// pipelineData is a pipeline's page.
type pipelineData struct {
	Name      string
	Latest    *store.PipelineRow
	Spec      *pipeline.Spec
	Revisions []revisionRow
	Diff      *diffView
	Schedules []scheduleView
	PausedAt  time.Time
	Params    []paramField
	Runs      []runRow
}

func (d *pipelineData) title() (string, string) { return "Pipeline " + d.Name, "pipelines" }

type revisionRow struct {
	Revision int
	Created  time.Time
}

// scheduleView is a schedule with its next ticks and what came of its
// last ones.
type scheduleView struct {
	Cron, Overlap, Catchup string
	Next                   []time.Time
	// Last are its latest recorded ticks, newest first.
	Last []tickView
}

// tickView is one recorded tick of a schedule.
type tickView struct {
	Tick    time.Time
	Outcome string // what came of it, in words
	Class   string // the status class that colours it
	RunID   string // the run it fired
	// RunGone says the run it fired was pruned since: there is no page
	// to link to.
	RunGone bool
	Error   string // why it started no run
	CatchUp bool
}

// lastTicksShown is how many recorded ticks a schedule shows.
const lastTicksShown = 5

func tickViewOf(r *store.ScheduleTickRow) tickView {
	v := tickView{Tick: r.Tick, RunID: r.RunID, Error: r.Error, CatchUp: r.CatchUp}
	switch r.Outcome {
	case store.TickFired:
		v.Outcome, v.Class = "fired", "s-succeeded"
	case store.TickSkippedPaused:
		v.Outcome, v.Class = "skipped: paused", "s-pending"
	case store.TickSkippedOverlap:
		v.Outcome, v.Class = "skipped: overlap", "s-pending"
	case store.TickFailed:
		v.Outcome, v.Class = "failed to start", "s-failed"
	default:
		v.Outcome, v.Class = "unknown", "s-other"
	}
	return v
}

// diffView is the diff between two revisions.
type diffView struct {
	From, To int
	Hunks    []diffHunk
	Same     bool
}

type diffHunk struct{ Lines []diffLine }

type diffLine struct {
	Kind string // "eq", "del", "ins"
	A, B int
	Text string
}

// maxRevisionsShown bounds the revisions listed on a pipeline's page.
const maxRevisionsShown = 50

func (u *UI) pipelinePage(w http.ResponseWriter, r *http.Request, usr *user) {
	ctx := r.Context()
	name := r.PathValue("name")
	latest, err := u.o.Store.PipelineGet(ctx, name, 0)
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	spec, _, err := u.o.Engine.Spec(ctx, name, latest.Revision)
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	d := &pipelineData{Name: name, Latest: latest, Spec: spec}
	for rev := latest.Revision; rev >= 1 && rev > latest.Revision-maxRevisionsShown; rev-- {
		row := latest
		if rev != latest.Revision {
			if row, err = u.o.Store.PipelineGet(ctx, name, rev); err != nil {
				continue // pruned
			}
		}
		d.Revisions = append(d.Revisions, revisionRow{Revision: rev, Created: row.CreatedAt})
	}
	if d.Diff, err = u.diff(r, name, latest); err != nil {
		u.fail(w, r, usr, http.StatusBadRequest, err.Error())
		return
	}
	now := u.o.Now()
	for _, s := range spec.Schedules {
		v := scheduleView{Cron: s.Cron, Overlap: s.Overlap, Catchup: s.Catchup}
		for t := s.Next(now); !t.IsZero() && len(v.Next) < 3; t = s.Next(t) {
			v.Next = append(v.Next, t)
		}
		ticks, err := u.o.Store.ScheduleTickList(ctx, &store.ScheduleTickListParams{Pipeline: name, Key: s.Key, Limit: lastTicksShown})
		if err != nil {
			u.storeFail(w, r, usr, err)
			return
		}
		for _, t := range ticks {
			tv := tickViewOf(t)
			if tv.RunID != "" {
				_, err := u.o.Store.RunGet(ctx, tv.RunID)
				switch {
				case errors.Is(err, store.ErrNotFound):
					tv.RunGone = true
				case err != nil:
					u.storeFail(w, r, usr, err)
					return
				}
			}
			v.Last = append(v.Last, tv)
		}
		d.Schedules = append(d.Schedules, v)
	}
	paused, err := u.pausedPipelines(r)
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	d.PausedAt = paused[name]
	for _, p := range spec.Params {
		f := paramField{Name: p.Name, Description: p.Description, Required: p.Required}
		if p.Default != nil {
			f.Value = *p.Default
		}
		d.Params = append(d.Params, f)
	}
	runs, err := u.o.Store.RunList(ctx, &store.RunListParams{Pipeline: name, Limit: 10})
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	for _, run := range runs {
		d.Runs = append(d.Runs, runRowOf(run, now))
	}
	u.render(w, r, usr, http.StatusOK, "pipeline", d)
}

// diff compares the revisions ?from= and ?to= (default: the latest and the
// one before); nil when there is only one.
func (u *UI) diff(r *http.Request, name string, latest *store.PipelineRow) (*diffView, error) {
	q := r.URL.Query()
	to, from := latest.Revision, latest.Revision-1
	for _, f := range []struct {
		key string
		to  *int
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(f.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > latest.Revision {
				return nil, fmt.Errorf("Revision %.20q is not one of this pipeline's, 1 to %d.", v, latest.Revision)
			}
			*f.to = n
		}
	}
	if from < 1 {
		return nil, nil
	}
	get := func(rev int) ([]byte, error) {
		if rev == latest.Revision {
			return latest.Spec, nil
		}
		row, err := u.o.Store.PipelineGet(r.Context(), name, rev)
		if err != nil {
			return nil, fmt.Errorf("Revision %d cannot be read; it may have been pruned.", rev)
		}
		return row.Spec, nil
	}
	a, err := get(from)
	if err != nil {
		return nil, err
	}
	b, err := get(to)
	if err != nil {
		return nil, err
	}
	v := &diffView{From: from, To: to}
	ops := linediff.Lines(string(a), string(b))
	v.Same = !slices.ContainsFunc(ops, func(o linediff.Op) bool { return o.Kind != linediff.Equal })
	for _, h := range linediff.Hunks(ops, 3) {
		var dh diffHunk
		for _, o := range h.Ops {
			kind := "eq"
			switch o.Kind {
			case linediff.Delete:
				kind = "del"
			case linediff.Insert:
				kind = "ins"
			}
			dh.Lines = append(dh.Lines, diffLine{Kind: kind, A: o.A, B: o.B, Text: strings.TrimRight(o.Text, "\r\n")})
		}
		v.Hunks = append(v.Hunks, dh)
	}
	return v, nil
}
