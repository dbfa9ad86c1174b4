package webui

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/graphlayout"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// runData is a run's page.
type runData struct {
	Run  *api.Run
	Spec *pipeline.Spec
	// Ended is set once the run has a final status.
	Ended bool
	Graph *graphView
	// Timeline has a bar per step that started.
	Timeline []timelineBar
	Vars     []varRow
	// Params are the pipeline's params with this run's values, for the
	// re-run form.
	Params []paramField
	// StepNames are the steps a re-run may start from, in order.
	StepNames []string
	Log       *logView
	// Pending are steps that wait for a decision.
	Pending []*api.Step
	// LogStep is the step whose log the page shows when it names none:
	// the live part carries it, so the page follows the run from step to
	// step.
	LogStep string
}

func (d *runData) title() (string, string) { return "Run " + d.Run.ID, "runs" }

// varRow is one run variable and where it came from: a param, a var: of the
// pipeline, or the step whose output set it last.
type varRow struct {
	Name, Value, From string
}

type paramField struct {
	Name, Value, Description string
	Required                 bool
}

type timelineBar struct {
	Step   string
	Status store.StepStatus
	// Left and Width are per-mille of the run's span, for the SVG.
	Left, Width int
	Took        string
}

func (u *UI) runPage(w http.ResponseWriter, r *http.Request, usr *user) {
	d, err := u.runData(r, r.PathValue("id"))
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	step := r.URL.Query().Get("step")
	if step == "" {
		step = d.LogStep
	}
	if step != "" {
		if d.Log, err = u.logView(r, d.Run, step); err != nil {
			var no *noStepError
			if errors.As(err, &no) {
				u.fail(w, r, usr, http.StatusNotFound, no.Error())
				return
			}
			u.storeFail(w, r, usr, err)
			return
		}
	}
	u.render(w, r, usr, http.StatusOK, "run", d)
}

// runData reads everything the run page shows.
func (u *UI) runData(r *http.Request, id string) (*runData, error) {
	ctx := r.Context()
	run, err := api.RunDetail(ctx, u.o.Engine, u.o.Store, id)
	if err != nil {
		return nil, err
	}
	spec, _, err := u.o.Engine.Spec(ctx, run.Pipeline, run.Revision)
	if err != nil {
		return nil, err
	}
	d := &runData{Run: run, Spec: spec, Ended: runEnded(run.Status), LogStep: defaultLogStep(run)}
	d.Graph = graphOf(spec, run)
	d.Timeline = timelineOf(run, u.o.Now())
	d.Vars = varsOf(spec, run)
	for _, p := range spec.Params {
		f := paramField{Name: p.Name, Description: p.Description, Required: p.Required}
		if v, ok := run.Params[p.Name]; ok {
			f.Value = v
		} else if p.Default != nil {
			f.Value = *p.Default
		}
		d.Params = append(d.Params, f)
	}
	for _, st := range spec.Steps {
		d.StepNames = append(d.StepNames, st.Name)
	}
	for i := range run.Steps {
		if a := run.Steps[i].Approval; a != nil && !a.Decided && !run.Steps[i].Status.Terminal() {
			d.Pending = append(d.Pending, &run.Steps[i])
		}
	}
	return d, nil
}

func runEnded(s store.RunStatus) bool {
	return s == store.RunSucceeded || s == store.RunFailed || s == store.RunCanceled
}

// defaultLogStep is the step whose log a run's page opens on: one that is
// running, else the last that failed, else the last that ran.
func defaultLogStep(run *api.Run) string {
	last, failed := "", ""
	for _, s := range run.Steps {
		switch s.Status {
		case store.StepRunning, store.StepRetrying:
			if s.Approval == nil {
				return s.Name
			}
		case store.StepFailed:
			failed = s.Name
		}
		if s.StartedAt != nil && s.Approval == nil {
			last = s.Name
		}
	}
	if failed != "" {
		return failed
	}
	return last
}

// varsOf lists the run's variables with where each came from.
func varsOf(spec *pipeline.Spec, run *api.Run) []varRow {
	from := make(map[string]string, len(run.Variables))
	for name := range run.Params {
		from[name] = "param"
	}
	for _, v := range spec.Vars {
		from[v.Name] = "var"
	}
	byName := make(map[string]*api.Step, len(run.Steps))
	for i := range run.Steps {
		byName[run.Steps[i].Name] = &run.Steps[i]
	}
	for _, name := range spec.Order() {
		if s, ok := byName[name]; ok && s.Status == store.StepSucceeded {
			for k := range s.Outputs {
				from[k] = "step " + name
			}
		}
	}
	out := make([]varRow, 0, len(run.Variables))
	for _, name := range slices.Sorted(maps.Keys(run.Variables)) {
		out = append(out, varRow{Name: name, Value: run.Variables[name], From: from[name]})
	}
	return out
}

// timelineOf places each step that started on the run's span.
func timelineOf(run *api.Run, now time.Time) []timelineBar {
	var start, end time.Time
	for _, s := range run.Steps {
		if s.StartedAt == nil {
			continue
		}
		if start.IsZero() || s.StartedAt.Before(start) {
			start = *s.StartedAt
		}
		f := now
		if s.FinishedAt != nil {
			f = *s.FinishedAt
		}
		if f.After(end) {
			end = f
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	var bars []timelineBar
	for _, s := range run.Steps {
		if s.StartedAt == nil {
			continue
		}
		f := now
		if s.FinishedAt != nil {
			f = *s.FinishedAt
		}
		left := int(s.StartedAt.Sub(start) * 1000 / span)
		width := max(int(f.Sub(*s.StartedAt)*1000/span), 4)
		bars = append(bars, timelineBar{Step: s.Name, Status: s.Status, Left: min(left, 996), Width: min(width, 1000-min(left, 996)), Took: fmtDuration(f.Sub(*s.StartedAt))})
	}
	return bars
}

// graphView is the run's step graph, laid out for SVG.
type graphView struct {
	Width, Height int
	Nodes         []graphNode
	Edges         []graphEdge
}

type graphNode struct {
	Name          string
	Status        store.StepStatus
	X, Y, W, H    int
	TextX, TextY  int
	SubY          int
	Sub           string
	Finally, Kind string
}

type graphEdge struct {
	Points string
	Class  string
}

// graphOf lays out the pipeline's steps with the state each has in run.
// Instances of a fan-out step are drawn as that step, with their count.
func graphOf(spec *pipeline.Spec, run *api.Run) *graphView {
	nodes := make([]graphlayout.Node, len(spec.Steps))
	for i, s := range spec.Steps {
		nodes[i] = graphlayout.Node{ID: s.Name, Needs: s.Needs}
	}
	g, err := graphlayout.Layout(nodes, graphlayout.Options{})
	if err != nil {
		return nil // a pipeline is acyclic once applied: nothing to draw otherwise
	}
	steps := make(map[string]*api.Step, len(run.Steps))
	instances := make(map[string][]*api.Step)
	for i := range run.Steps {
		s := &run.Steps[i]
		steps[s.Name] = s
		if s.Instance != nil {
			instances[s.Instance.Of] = append(instances[s.Instance.Of], s)
		}
	}
	specs := make(map[string]*pipeline.Step, len(spec.Steps))
	for i := range spec.Steps {
		specs[spec.Steps[i].Name] = &spec.Steps[i]
	}
	v := &graphView{Width: g.Width, Height: g.Height}
	status := make(map[string]store.StepStatus)
	for _, n := range g.Nodes {
		gn := graphNode{Name: n.ID, Status: store.StepPending, X: n.X, Y: n.Y, W: n.W, H: n.H,
			TextX: n.X + 10, TextY: n.Y + n.H/2 - 3, SubY: n.Y + n.H/2 + 12}
		if s, ok := steps[n.ID]; ok {
			gn.Status = s.Status
			gn.Sub = stepSummary(s)
		}
		if inst := instances[n.ID]; len(inst) > 0 {
			done := 0
			for _, s := range inst {
				if s.Status == store.StepSucceeded {
					done++
				}
			}
			gn.Sub = fmt.Sprintf("%d/%d items", done, len(inst))
		}
		if sp := specs[n.ID]; sp != nil {
			switch {
			case sp.Approval != nil:
				gn.Kind = "approval"
			case sp.Pipeline != nil:
				gn.Kind = "pipeline"
			case sp.ForEach != nil:
				gn.Kind = "for each"
			}
			if sp.Finally {
				gn.Finally = "finally"
			}
		}
		status[n.ID] = gn.Status
		v.Nodes = append(v.Nodes, gn)
	}
	for _, e := range g.Edges {
		var pts []byte
		for i, p := range e.Points {
			if i > 0 {
				pts = append(pts, ' ')
			}
			pts = fmt.Appendf(pts, "%d,%d", p.X, p.Y)
		}
		v.Edges = append(v.Edges, graphEdge{Points: string(pts), Class: statusClass(status[e.From])})
	}
	return v
}

// stepSummary is what the graph says of a step after its status: how long
// it took and how many tries; "" before it started.
func stepSummary(s *api.Step) string {
	var out string
	if s.StartedAt != nil {
		end := time.Now()
		if s.FinishedAt != nil {
			end = *s.FinishedAt
		}
		out = fmtDuration(end.Sub(*s.StartedAt))
	}
	if n := len(s.Attempts); n > 1 {
		out += fmt.Sprintf(" · %d tries", n)
	}
	return strings.TrimPrefix(out, " · ")
}

// runEvents streams a run's changing parts: the graph, the steps and the
// timeline, rendered again at each change, then "end" once it ended.
func (u *UI) runEvents(w http.ResponseWriter, r *http.Request, usr *user) {
	id := r.PathValue("id")
	if _, err := u.o.Store.RunGet(r.Context(), id); err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	s, ok := u.startEvents(w, r)
	if !ok {
		return
	}
	u.sendRendered(s, id, "live", func() (string, string, error) {
		d, err := u.runData(r, id)
		if err != nil {
			u.log.Error("web ui: read run", "run_id", id, "err", err)
			return "", "", err
		}
		html, err := u.fragment("run", "live", &view{User: usr, CSRF: u.csrfToken(usr), Data: d})
		if err != nil {
			u.log.Error("web ui: render run", "err", err)
			return "", "", err
		}
		end := ""
		if d.Ended {
			end = string(d.Run.Status)
		}
		return html, end, nil
	})
}

// noStepError is a step a run does not have.
type noStepError struct{ run, step string }

func (e *noStepError) Error() string {
	return fmt.Sprintf("Run %s has no step %q.", e.run, e.step)
}
