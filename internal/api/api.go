// Package api is baton's HTTP API: pipelines, runs, logs, the callback steps
// post their outputs to, and the OpenAPI document that describes them.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/vault"
)

// maxSpecBytes bounds a pipeline definition sent to apply.
const maxSpecBytes = 1 << 20

// Server serves the API.
type Server struct {
	eng   *engine.Engine
	st    store.Store
	log   *slog.Logger
	mux   *http.ServeMux
	auth  *auth.Authenticator
	vault *vault.Vault

	// AfterApply, if set, is called after a pipeline definition changed, so
	// schedules can be reloaded.
	AfterApply func(ctx context.Context)
}

// Options configure a [Server].
type Options struct {
	Logger *slog.Logger
	// Auth checks API tokens. Nil serves every endpoint to anyone: only for
	// --dev, on loopback.
	Auth *auth.Authenticator
	// Vault holds secrets; nil disables the secrets endpoints.
	Vault *vault.Vault
	// CallbacksOnly serves health and the steps' callbacks and nothing else,
	// as baton exec does: it has no clients but its own steps.
	CallbacksOnly bool
}

// New returns the API handler over an engine and its store.
func New(eng *engine.Engine, st store.Store, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{eng: eng, st: st, log: o.Logger, mux: http.NewServeMux(), auth: o.Auth, vault: o.Vault}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("POST /api/v1/callbacks/{run}/{step}/{attempt}", s.callback)
	s.mux.HandleFunc("GET /api/v1/callbacks/{run}/{step}/{attempt}/secrets/{name}", s.callbackSecret)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s; see /api/v1/openapi.json", r.Method, r.URL.Path))
	})
	if o.CallbacksOnly {
		return s
	}
	s.mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	s.mux.Handle("GET /metrics", eng.Metrics().Handler())
	for _, r := range []struct {
		pattern string
		need    auth.Role
		h       http.HandlerFunc
	}{
		{"POST /api/v1/pipelines", auth.Admin, s.applyPipeline},
		{"GET /api/v1/pipelines", auth.Viewer, s.listPipelines},
		{"GET /api/v1/pipelines/{name}", auth.Viewer, s.getPipeline},
		{"POST /api/v1/pipelines/{name}/runs", auth.Operator, s.createRun},
		{"GET /api/v1/runs", auth.Viewer, s.listRuns},
		{"GET /api/v1/runs/{id}", auth.Viewer, s.getRun},
		{"POST /api/v1/runs/{id}/cancel", auth.Operator, s.cancelRun},
		{"POST /api/v1/runs/{id}/retry", auth.Operator, s.retryRun},
		{"GET /api/v1/runs/{id}/steps/{step}/logs", auth.Viewer, s.stepLogs},
		{"GET /api/v1/secrets", auth.Admin, s.listSecrets},
		{"PUT /api/v1/secrets/{name}", auth.Admin, s.putSecret},
		{"DELETE /api/v1/secrets/{name}", auth.Admin, s.deleteSecret},
		{"POST /api/v1/secrets/rotate", auth.Admin, s.rotateSecrets},
		{"GET /api/v1/tokens", auth.Admin, s.listTokens},
		{"POST /api/v1/tokens", auth.Admin, s.createToken},
		{"DELETE /api/v1/tokens/{name}", auth.Admin, s.revokeToken},
		{"GET /api/v1/audit", auth.Admin, s.listAudit},
	} {
		s.mux.Handle(r.pattern, s.guard(r.need, r.h))
	}
	return s
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, Error{Error: msg})
}

// storeError maps a store or engine error to a response.
func (s *Server) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, engine.ErrInvalid):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
	case errors.Is(err, engine.ErrFinished), errors.Is(err, store.ErrConflict), errors.Is(err, engine.ErrStale):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.log.Error("api request", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// readBody reads a request body of at most limit bytes; past that it answers
// 413 naming what was too large, and returns false.
func readBody(w http.ResponseWriter, r *http.Request, limit int, what string) ([]byte, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return nil, false
	}
	if len(data) > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s is larger than %d bytes", what, limit))
		return nil, false
	}
	return data, true
}

func (s *Server) applyPipeline(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, maxSpecBytes, "the pipeline definition")
	if !ok {
		return
	}
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "pipeline.yaml"
	}
	before, _ := s.st.PipelineList(r.Context())
	row, _, err := s.eng.Apply(r.Context(), filename, data)
	if err != nil {
		s.storeError(w, err)
		return
	}
	created := true
	for _, p := range before {
		if p.Name == row.Name && p.Revision == row.Revision {
			created = false
		}
	}
	if created && s.AfterApply != nil {
		s.AfterApply(r.Context())
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		s.audit(r, "pipeline.apply", row.Name, fmt.Sprintf("revision %d", row.Revision))
	}
	writeJSON(w, code, Pipeline{Name: row.Name, Revision: row.Revision, CreatedAt: row.CreatedAt, Created: &created})
}

func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) {
	rows, err := s.st.PipelineList(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	out := make([]Pipeline, len(rows))
	for i, p := range rows {
		out[i] = Pipeline{Name: p.Name, Revision: p.Revision, CreatedAt: p.CreatedAt}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) {
	rev := 0
	if v := r.URL.Query().Get("revision"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("revision %q is not a positive whole number", v))
			return
		}
		rev = n
	}
	p, err := s.st.PipelineGet(r.Context(), r.PathValue("name"), rev)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Pipeline{Name: p.Name, Revision: p.Revision, CreatedAt: p.CreatedAt, Spec: string(p.Spec)})
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, contract.MaxOutputBytes, "the params")
	if !ok {
		return
	}
	params, err := decodeParams(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	run, err := s.eng.Submit(r.Context(), &engine.SubmitParams{Pipeline: r.PathValue("name"), Params: params})
	if err != nil {
		if run == nil {
			s.storeError(w, err)
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
	rows, err := s.st.RunList(r.Context(), p)
	if err != nil {
		s.storeError(w, err)
		return
	}
	out := make([]Run, len(rows))
	for i, row := range rows {
		out[i] = runJSON(row)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	out, err := RunDetail(r.Context(), s.eng, s.st, r.PathValue("id"))
	if err != nil {
		s.storeError(w, err)
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
	return &out, nil
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.eng.Cancel(r.Context(), id); err != nil {
		s.storeError(w, err)
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
	data, ok := readBody(w, r, contract.MaxOutputBytes, "the request")
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
	run, err := s.eng.Rerun(r.Context(), &engine.RerunParams{RunID: r.PathValue("id"), From: req.From, Params: req.Params})
	if err != nil {
		if run == nil {
			s.storeError(w, err)
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

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	s.handleCallback(rec, r)
	s.eng.Metrics().Callbacks.WithLabelValues(strconv.Itoa(rec.code)).Inc()
}

// statusRecorder remembers the status code a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	attempt, err := strconv.Atoi(r.PathValue("attempt"))
	if err != nil || attempt < 1 {
		writeError(w, http.StatusNotFound, "no such attempt")
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeError(w, http.StatusUnauthorized, "send the attempt's token: Authorization: Bearer $BATON_TOKEN")
		return
	}
	run, step := r.PathValue("run"), r.PathValue("step")
	// Who is asking comes before what they send.
	if err := s.eng.CheckAttempt(r.Context(), run, step, attempt, token); err != nil {
		s.callbackError(w, err)
		return
	}
	vars, err := contract.ParseCallbackBody(r.Body)
	switch {
	case errors.Is(err, contract.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.eng.PostOutputs(r.Context(), run, step, attempt, token, vars); err != nil {
		s.callbackError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(vars)})
}

func (s *Server) callbackError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, engine.ErrUnauthorized):
		writeError(w, http.StatusUnauthorized, err.Error())
	case errors.Is(err, contract.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
	default:
		s.storeError(w, err)
	}
}
