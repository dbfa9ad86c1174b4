package webui

import (
	"bufio"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/baton-dev/baton/internal/ansi"
	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
)

// logPageLines is how many lines of a step's log a page shows at once.
const logPageLines = 5000

// logView is one step's log on the run's page.
type logView struct {
	Run, Step string
	Status    store.StepStatus
	Lines     []logLine
	// From is the sequence number the page starts after; More is the
	// link to the next lines when there are more than one page holds.
	From int64
	More string
	// Last is the sequence number of the last line shown, where the live
	// stream goes on from; Live is set while the step may print more.
	Last int64
	Live bool
}

// EventsURL is where the log's live lines come from.
func (l *logView) EventsURL() string {
	return fmt.Sprintf("/runs/%s/steps/%s/log/events?after=%d", url.PathEscape(l.Run), url.PathEscape(l.Step), l.Last)
}

// DownloadURL is the whole log as text.
func (l *logView) DownloadURL() string {
	return fmt.Sprintf("/runs/%s/steps/%s/log.txt", url.PathEscape(l.Run), url.PathEscape(l.Step))
}

// logLine is one line, its text rendered by [ansi.HTML]: escaped, with
// colours as classes.
type logLine struct {
	Seq     int64
	Attempt int
	// NewAttempt marks the first line of an attempt after the first.
	NewAttempt bool
	Stream     string
	Time       time.Time
	HTML       template.HTML
}

func (u *UI) logView(r *http.Request, run *api.Run, step string) (*logView, error) {
	var status store.StepStatus
	found := false
	for _, s := range run.Steps {
		if s.Name == step {
			status, found = s.Status, true
		}
	}
	if !found {
		return nil, &noStepError{run: run.ID, step: step}
	}
	v := &logView{Run: run.ID, Step: step, Status: status}
	if f, err := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64); err == nil && f > 0 {
		v.From = f
	}
	rows, err := u.o.Store.LogList(r.Context(), &store.LogListParams{RunID: run.ID, Step: step, AfterSeq: v.From, Limit: logPageLines + 1})
	if err != nil {
		return nil, err
	}
	if len(rows) > logPageLines {
		rows = rows[:logPageLines]
		q := url.Values{"step": {step}, "from": {strconv.FormatInt(rows[len(rows)-1].Seq, 10)}}
		v.More = "/runs/" + url.PathEscape(run.ID) + "?" + q.Encode() + "#log"
	}
	v.Lines = logLines(rows, 0)
	v.Last = v.From
	if n := len(rows); n > 0 {
		v.Last = rows[n-1].Seq
	}
	v.Live = v.More == "" && !status.Terminal()
	return v, nil
}

// logLines renders rows, marking where a new attempt starts; prev is the
// attempt of the line before the first.
func logLines(rows []*store.LogRow, prev int) []logLine {
	out := make([]logLine, len(rows))
	for i, l := range rows {
		out[i] = logLine{Seq: l.Seq, Attempt: l.Attempt, NewAttempt: prev != 0 && l.Attempt != prev,
			Stream: l.Stream, Time: l.Time, HTML: ansi.HTML(l.Text)}
		prev = l.Attempt
	}
	return out
}

// logEvents streams a step's new lines as rendered list items, each batch
// with the last line's sequence number as its id, until the step ended;
// then "end".
func (u *UI) logEvents(w http.ResponseWriter, r *http.Request, usr *user) {
	ctx := r.Context()
	runID, step := r.PathValue("id"), r.PathValue("step")
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	// A browser that reconnects says where it got to.
	if id, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil && id > after {
		after = id
	}
	status, err := u.stepStatus(r, runID, step)
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	s, ok := u.startEvents(w, r)
	if !ok {
		return
	}
	s.gather = 0
	prev := 0
	for {
		changed := u.o.Engine.Changed(runID)
		if status, err = u.stepStatus(r, runID, step); err != nil {
			return
		}
		for {
			rows, err := u.o.Store.LogList(ctx, &store.LogListParams{RunID: runID, Step: step, AfterSeq: after, Limit: 500})
			if err != nil {
				u.log.Error("web ui: read logs", "run_id", runID, "step", step, "err", err)
				return
			}
			if len(rows) == 0 {
				break
			}
			html, err := u.fragment("run", "loglines", logLines(rows, prev))
			if err != nil {
				u.log.Error("web ui: render log", "err", err)
				return
			}
			after = rows[len(rows)-1].Seq
			prev = rows[len(rows)-1].Attempt
			if !s.sendID(strconv.FormatInt(after, 10), "lines", html) {
				return
			}
			if len(rows) < 500 {
				break
			}
		}
		if status.Terminal() {
			s.send("end", string(status))
			return
		}
		if !s.wait(changed, 2*time.Second) {
			return
		}
	}
}

func (u *UI) stepStatus(r *http.Request, runID, step string) (store.StepStatus, error) {
	steps, err := u.o.Store.StepList(r.Context(), runID)
	if err != nil {
		return "", err
	}
	for _, s := range steps {
		if s.Name == step {
			return s.Status, nil
		}
	}
	if _, err := u.o.Store.RunGet(r.Context(), runID); err != nil {
		return "", err
	}
	return "", store.ErrNotFound
}

// logDownload sends a step's whole log as text: time, stream, and the
// text without escape sequences, control characters made visible.
func (u *UI) logDownload(w http.ResponseWriter, r *http.Request, usr *user) {
	runID, step := r.PathValue("id"), r.PathValue("step")
	if _, err := u.stepStatus(r, runID, step); err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", safeFileName(runID+"-"+step+".log")))
	h.Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	bw := bufio.NewWriter(w)
	var after int64
	for {
		rows, err := u.o.Store.LogList(r.Context(), &store.LogListParams{RunID: runID, Step: step, AfterSeq: after, Limit: 5000})
		if err != nil {
			u.log.Error("web ui: read logs", "run_id", runID, "step", step, "err", err)
			return
		}
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		for _, l := range rows {
			fmt.Fprintf(bw, "%s %s %s\n", l.Time.UTC().Format(time.RFC3339Nano), l.Stream, ansi.Strip(l.Text))
			after = l.Seq
		}
		if err := bw.Flush(); err != nil || len(rows) < 5000 {
			return
		}
	}
}

// safeFileName keeps letters, digits, dot, dash and underscore.
func safeFileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
