package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// noRun is the answer for a run that does not exist.
func noRun(id string) string {
	return fmt.Sprintf("no run %q; see 'baton runs list'", id)
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) {
	data, ok := readJSON(w, r, contract.MaxOutputBytes, "the params")
	if !ok {
		return
	}
	params, err := decodeParams(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := r.PathValue("name")
	run, err := s.eng.Submit(r.Context(), &engine.SubmitParams{Pipeline: name, Params: params})
	if err != nil {
		if run == nil {
			s.storeError(w, err, noPipeline(name))
			return
		}
		s.log.Error("run accepted but not started", "run_id", run.ID, "err", err)
	}
	s.audit(r, "run.create", run.ID, "pipeline "+run.Pipeline)
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, runJSON(run))
}

// decodeParams reads a run request: a JSON object of param names to values.
// Numbers and booleans are taken as their text; anything else is refused.
func decodeParams(data []byte) (map[string]string, error) {
	params := make(map[string]string)
	if strings.TrimSpace(string(data)) == "" {
		return params, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("body must be a JSON object of params, like {\"target\": \"all\"}: %v", err)
	}
	for name, v := range raw {
		var val any
		if err := json.Unmarshal(v, &val); err != nil {
			return nil, fmt.Errorf("param %q: %v", name, err)
		}
		switch x := val.(type) {
		case string:
			params[name] = x
		case float64, bool:
			params[name] = strings.TrimSpace(string(v))
		default:
			return nil, fmt.Errorf("param %q must be a string, number or boolean", name)
		}
	}
	return params, nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &store.RunListParams{Pipeline: q.Get("pipeline")}
	if v := q.Get("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			switch status := store.RunStatus(st); status {
			case store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunFailed, store.RunCanceled:
				p.Statuses = append(p.Statuses, status)
			default:
				writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q is not one of queued, running, succeeded, failed, canceled", st))
				return
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q must be a whole number from 1 to 1000", v))
			return
		}
		p.Limit = n
	}
	p.Before = q.Get("before")
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"since", &p.Since}, {"until", &p.Until}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("%s %.40q is not a time; write RFC 3339, e.g. 2026-12-01T00:00:00Z", f.name, v))
				return
			}
			*f.to = t
		}
	}
	params, err := paramFilter(q["param"])
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p.Params = params
	rows, err := s.st.RunList(r.Context(), p)
	if err != nil {
		notFound := ""
		if p.Before != "" {
			notFound = fmt.Sprintf("before: %s", noRun(p.Before))
		}
		s.storeError(w, err, notFound)
		return
	}
	out := make([]Run, len(rows))
	for i, row := range rows {
		out[i] = runJSON(row)
	}
	writeJSON(w, http.StatusOK, out)
}

// paramFilter reads the param=NAME=VALUE filters of a runs listing, each
// name once, within the bounds every store keeps ([store.CheckRunList]).
func paramFilter(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	if len(values) > store.MaxRunListParams {
		return nil, fmt.Errorf("%d params to filter on; the limit is %d", len(values), store.MaxRunListParams)
	}
	out := make(map[string]string, len(values))
	for _, v := range values {
		name, value, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("param %.40q is not NAME=VALUE; write e.g. param=env=prod (param=env= for an empty value)", v)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("param %.40q is given twice; give each name once", name)
		}
		out[name] = value
	}
	if err := store.CheckRunList(&store.RunListParams{Params: out}); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	out, err := RunDetail(r.Context(), s.eng, s.st, id)
	if err != nil {
		s.storeError(w, err, noRun(id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// RunDetail returns a run with its steps, attempts and variables, as the API
// shows it.
func RunDetail(ctx context.Context, eng *engine.Engine, st store.Store, id string) (*Run, error) {
	row, err := st.RunGet(ctx, id)
	if err != nil {
		return nil, err
	}
	steps, err := st.StepList(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	attempts, err := st.AttemptList(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	vars, err := eng.Vars(ctx, row, steps)
	if err != nil {
		return nil, err
	}
	out := runJSON(row)
	out.Variables = vars
	out.Steps = stepsJSON(steps, attempts)
	if err := withApprovals(ctx, st, row.ID, out.Steps); err != nil {
		return nil, err
	}
	if err := withChildRuns(ctx, eng, st, row, out.Steps); err != nil {
		return nil, err
	}
	if out.Notifications, err = notificationsJSON(ctx, st, row.ID); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.eng.Cancel(r.Context(), id)
	switch {
	case errors.Is(err, engine.ErrFinished):
		writeError(w, http.StatusConflict, fmt.Sprintf("run %q has ended already; there is nothing to cancel", id))
		return
	case err != nil:
		s.storeError(w, err, noRun(id))
		return
	}
	s.audit(r, "run.cancel", id, "")
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "status": "canceling"})
}

// retryRequest is the body of a re-run request.
type retryRequest struct {
	From   string            `json:"from"`
	Params map[string]string `json:"params"`
}

func (s *Server) retryRun(w http.ResponseWriter, r *http.Request) {
	var req retryRequest
	data, ok := readJSON(w, r, contract.MaxOutputBytes, "the request")
	if !ok {
		return
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, `body must be {"from": "STEP", "params": {"NAME": "VALUE"}}, both optional: `+err.Error())
			return
		}
	}
	id := r.PathValue("id")
	run, err := s.eng.Rerun(r.Context(), &engine.RerunParams{RunID: id, From: req.From, Params: req.Params})
	if err != nil {
		if run == nil {
			s.storeError(w, err, noRun(id))
			return
		}
		s.log.Error("run accepted but not started", "run_id", run.ID, "err", err)
	}
	detail := "re-run of " + run.RetryOf
	if req.From != "" {
		detail += " from step " + req.From
	}
	s.audit(r, "run.retry", run.ID, detail)
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, runJSON(run))
}
