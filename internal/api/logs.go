package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// stepLogs serves a step's stored log lines; with follow=1 it keeps the
// response open and streams new lines until the step has ended.
//
// Lines are NDJSON ([LogLine]) with format=json or an Accept of
// application/x-ndjson, else text: "TIME STREAM TEXT", control characters
// escaped so a step cannot rewrite the reader's terminal.
func (s *Server) stepLogs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	runID, step := r.PathValue("id"), r.PathValue("step")
	q := r.URL.Query()
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	asJSON := q.Get("format") == "json" || r.Header.Get("Accept") == "application/x-ndjson"
	var after int64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("after %q must be a sequence number", v))
			return
		}
		after = n
	}
	if _, err := s.stepStatus(r, runID, step); err != nil {
		var noStep *noStepError
		if errors.As(err, &noStep) {
			writeError(w, http.StatusNotFound, noStep.Error())
			return
		}
		s.storeError(w, err, noRun(runID))
		return
	}
	if asJSON {
		w.Header().Set("Content-Type", "application/x-ndjson")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	for {
		changed := s.eng.Changed(runID)
		status, err := s.stepStatus(r, runID, step)
		if err != nil {
			return
		}
		for {
			rows, err := s.st.LogList(ctx, &store.LogListParams{RunID: runID, Step: step, AfterSeq: after, Limit: 1000})
			if err != nil {
				s.log.Error("read logs", "run_id", runID, "step", step, "err", err)
				return
			}
			// A reader that keeps up gets the time to read each batch; one
			// that stops reading is cut off.
			_ = rc.SetWriteDeadline(time.Now().Add(s.limits.WriteTimeout))
			for _, l := range rows {
				if asJSON {
					_ = enc.Encode(LogLine{Seq: l.Seq, Step: step, Attempt: l.Attempt, Time: l.Time, Stream: l.Stream, Text: l.Text})
				} else {
					fmt.Fprintf(w, "%s %s %s\n", l.Time.Format(time.RFC3339Nano), l.Stream, EscapeControl(l.Text))
				}
				after = l.Seq
			}
			if len(rows) < 1000 {
				break
			}
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return
		}
		if !follow || status.Terminal() {
			return
		}
		select {
		case <-changed:
		case <-time.After(2 * time.Second):
			// A run owned by nobody in this process never signals; look again.
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) stepStatus(r *http.Request, runID, step string) (store.StepStatus, error) {
	steps, err := s.st.StepList(r.Context(), runID)
	if err != nil {
		return "", err
	}
	for _, st := range steps {
		if st.Name == step {
			return st.Status, nil
		}
	}
	if _, err := s.st.RunGet(r.Context(), runID); err != nil {
		return "", err
	}
	return "", &noStepError{run: runID, step: step}
}

// EscapeControl makes a log line safe to print on a terminal: control
// characters other than tab become visible escapes.
func EscapeControl(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	out := make([]rune, 0, len(s)+8)
	for _, r := range s {
		if isControl(r) {
			out = append(out, []rune(fmt.Sprintf("\\x%02x", r))...)
			continue
		}
		out = append(out, r)
	}
	return string(out)
}

func isControl(r rune) bool {
	return r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0))
}

// noStepError is the answer for a step a run does not have.
type noStepError struct{ run, step string }

func (e *noStepError) Error() string {
	return fmt.Sprintf("run %q has no step %q; see 'baton runs get %s'", e.run, e.step, e.run)
}
