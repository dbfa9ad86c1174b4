package webui

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// runsPageSize is how many runs a page of the runs list shows.
const runsPageSize = 50

// runFilter is the runs list's filter, as the form and the links carry it.
type runFilter struct {
	Pipeline string
	Status   string
	// Range is a preset time range back from now: 1h, 24h, 7d, 30d.
	Range        string
	Since, Until string
	// Params are NAME=VALUE, each one a run must have.
	Params []string
	Before string
}

// ranges are the presets of runFilter.Range.
var ranges = []struct{ Value, Label string }{
	{"", "any time"}, {"1h", "last hour"}, {"24h", "last 24 hours"}, {"7d", "last 7 days"}, {"30d", "last 30 days"},
}

var rangeDurations = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// maxParamFilters bounds the params one list may be filtered by.
const maxParamFilters = 8

// runStatuses are the statuses a run may be filtered by.
var runStatuses = []store.RunStatus{store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunFailed, store.RunCanceled}

func parseRunFilter(q url.Values) runFilter {
	f := runFilter{
		Pipeline: q.Get("pipeline"), Status: q.Get("status"), Range: q.Get("range"),
		Since: q.Get("since"), Until: q.Get("until"), Before: q.Get("before"),
	}
	for _, p := range q["param"] {
		if p = strings.TrimSpace(p); p != "" {
			f.Params = append(f.Params, p)
		}
	}
	return f
}

// query is the filter as a query string, without the cursor.
func (f runFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"pipeline": f.Pipeline, "status": f.Status, "range": f.Range, "since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for _, p := range f.Params {
		q.Add("param", p)
	}
	return q
}

// listParams turns the filter into the store's, or says what is wrong
// with it.
func (f runFilter) listParams(now time.Time) (*store.RunListParams, error) {
	p := &store.RunListParams{Pipeline: f.Pipeline, Before: f.Before, Limit: runsPageSize}
	if f.Status != "" {
		st := store.RunStatus(f.Status)
		if !slices.Contains(runStatuses, st) {
			return nil, fmt.Errorf("status %q is not one of queued, running, succeeded, failed, canceled", f.Status)
		}
		p.Statuses = []store.RunStatus{st}
	}
	if f.Range != "" {
		d, ok := rangeDurations[f.Range]
		if !ok {
			return nil, fmt.Errorf("range %q is not one of 1h, 24h, 7d, 30d", f.Range)
		}
		p.Since = now.Add(-d)
	}
	for _, b := range []struct {
		name, text string
		to         *time.Time
	}{{"from", f.Since, &p.Since}, {"until", f.Until, &p.Until}} {
		if b.text == "" {
			continue
		}
		t, err := parseTime(b.text)
		if err != nil {
			return nil, fmt.Errorf("%s %.40q is not a time: write 2026-12-01 10:00 (UTC) or RFC 3339", b.name, b.text)
		}
		*b.to = t
	}
	if len(f.Params) > maxParamFilters {
		return nil, fmt.Errorf("filter by at most %d params", maxParamFilters)
	}
	for _, kv := range f.Params {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || len(name) > 128 || len(value) > 1024 {
			return nil, fmt.Errorf("param filter %.60q must be NAME=VALUE, the name up to 128 bytes and the value up to 1024", kv)
		}
		if p.Params == nil {
			p.Params = make(map[string]string)
		}
		if _, dup := p.Params[name]; dup {
			return nil, fmt.Errorf("param %.60q is filtered by twice; a run has one value of it", name)
		}
		p.Params[name] = value
	}
	return p, nil
}

// parseTime reads what a datetime-local input sends (taken as UTC), a date
// and time with a space, or RFC 3339.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a time")
}

// runRow is one run in the list.
type runRow struct {
	ID, Pipeline string
	Revision     int
	Status       store.RunStatus
	Params       []string
	Created      time.Time
	Duration     string
	RetryOf      string
	Child        bool
}

func runRowOf(r *store.RunRow, now time.Time) runRow {
	row := runRow{ID: r.ID, Pipeline: r.Pipeline, Revision: r.Revision, Status: r.Status, Created: r.CreatedAt,
		RetryOf: r.RetryOf, Child: r.Parent.RunID != ""}
	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		row.Params = append(row.Params, k+"="+r.Params[k])
	}
	switch {
	case !r.StartedAt.IsZero() && !r.FinishedAt.IsZero():
		row.Duration = fmtDuration(r.FinishedAt.Sub(r.StartedAt))
	case !r.StartedAt.IsZero():
		row.Duration = fmtDuration(now.Sub(r.StartedAt)) + "…"
	}
	return row
}

type runsData struct {
	Filter    runFilter
	Ranges    any
	Statuses  []store.RunStatus
	Pipelines []string
	Rows      []runRow
	// Next is the cursor of the next page, "" on the last.
	Next string
	// Query is the filter as a query string, for the next page's link and
	// the live updates.
	Query string
	// Live is set on the first page, which updates itself.
	Live  bool
	Error string
}

func (d *runsData) title() (string, string) { return "Runs", "runs" }

// NextURL is the link to the next page.
func (d *runsData) NextURL() string {
	q := d.Filter.query()
	q.Set("before", d.Next)
	return "/runs?" + q.Encode()
}

func (u *UI) runsPage(w http.ResponseWriter, r *http.Request, usr *user) {
	f := parseRunFilter(r.URL.Query())
	d := &runsData{Filter: f, Ranges: ranges, Statuses: runStatuses, Query: f.query().Encode(), Live: f.Before == ""}
	pipes, err := u.o.Store.PipelineList(r.Context())
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	for _, p := range pipes {
		d.Pipelines = append(d.Pipelines, p.Name)
	}
	code := http.StatusOK
	if err := u.listRuns(r, f, d); err != nil {
		code = http.StatusBadRequest
		var bad *badFilter
		if !errors.As(err, &bad) {
			u.storeFail(w, r, usr, err)
			return
		}
		d.Error = bad.msg
		d.Live = false // nothing to follow
	}
	u.render(w, r, usr, code, "runs", d)
}

// badFilter is a filter the user must fix.
type badFilter struct{ msg string }

func (b *badFilter) Error() string { return b.msg }

// listRuns fills d.Rows and d.Next from the store.
func (u *UI) listRuns(r *http.Request, f runFilter, d *runsData) error {
	now := u.o.Now()
	p, err := f.listParams(now)
	if err != nil {
		return &badFilter{err.Error()}
	}
	rows, err := u.o.Store.RunList(r.Context(), p)
	switch {
	case errors.Is(err, store.ErrNotFound) && f.Before != "":
		return &badFilter{fmt.Sprintf("the page starts after run %.40q, which does not exist", f.Before)}
	case err != nil:
		return err
	}
	d.Rows = make([]runRow, len(rows))
	for i, row := range rows {
		d.Rows[i] = runRowOf(row, now)
	}
	if len(rows) == p.Limit {
		d.Next = rows[len(rows)-1].ID
	}
	return nil
}

// runsEvents streams the first page of the runs list: the table's rows,
// rendered again whenever a run changes.
func (u *UI) runsEvents(w http.ResponseWriter, r *http.Request, usr *user) {
	f := parseRunFilter(r.URL.Query())
	f.Before = ""
	s, ok := u.startEvents(w, r)
	if !ok {
		return
	}
	u.sendRendered(s, "", "rows", func() (string, string, error) {
		d := &runsData{Filter: f}
		if err := u.listRuns(r, f, d); err != nil {
			var bad *badFilter
			if !errors.As(err, &bad) {
				u.log.Error("web ui: list runs", "err", err)
			}
			return "", "", err
		}
		html, err := u.fragment("runs", "runrows", d)
		if err != nil {
			u.log.Error("web ui: render runs", "err", err)
		}
		return html, "", err
	})
}

// storeFail shows a store error without its internals.
func (u *UI) storeFail(w http.ResponseWriter, r *http.Request, usr *user, err error) {
	if r.Context().Err() != nil {
		return // the browser went away (a reload, a closed tab): nobody to answer
	}
	if errors.Is(err, store.ErrNotFound) {
		u.fail(w, r, usr, http.StatusNotFound, "There is no such thing here; it may have been pruned.")
		return
	}
	u.log.Error("web ui: store", "path", r.URL.Path, "err", err)
	u.fail(w, r, usr, http.StatusInternalServerError, "The store cannot be read now; the server's log has the details.")
}
