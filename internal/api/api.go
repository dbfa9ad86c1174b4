// Package api is baton's HTTP API: pipelines, runs, logs, the callback steps
// post their outputs to, and the OpenAPI document that describes them.
package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/vault"
)

// maxSpecBytes bounds a pipeline definition sent to apply.
const maxSpecBytes = 1 << 20

// Content types the routes take a body in. Each is one a web page cannot
// send to another site without the browser asking first, which baton never
// allows: see [Server.checkContentType].
var (
	jsonBody   = []string{"application/json"}
	yamlBody   = []string{"application/yaml", "application/x-yaml", "text/yaml", "application/json"}
	secretBody = []string{"application/octet-stream"}
)

// Server serves the API.
type Server struct {
	eng   *engine.Engine
	st    store.Store
	log   *slog.Logger
	mux   *http.ServeMux
	auth  *auth.Authenticator
	vault *vault.Vault
	// loopbackOnly answers only requests whose Host is a loopback name:
	// without tokens (--dev) it is what keeps DNS rebinding out.
	loopbackOnly bool
	limits       Limits
	routes       []route

	// AfterApply, if set, is called after the set of pipelines or a
	// pipeline's definition changed (apply, delete), so schedules can be
	// reloaded.
	AfterApply func(ctx context.Context)
}

// Options configure a [Server].
type Options struct {
	Logger *slog.Logger
	// Auth checks API tokens. Nil serves every endpoint to anyone: only for
	// --dev, on loopback; requests must then name a loopback host, except
	// the callbacks' (unless CallbacksOnly, which serves nothing to clients).
	Auth *auth.Authenticator
	// Vault holds secrets; nil disables the secrets endpoints.
	Vault *vault.Vault
	// CallbacksOnly serves health and the steps' callbacks and nothing else,
	// as baton exec does: it has no clients but its own steps.
	CallbacksOnly bool
	// Limits bound each request's body and response; give the same to
	// [NewHTTPServer].
	Limits Limits
	// UI, if set, serves every path outside /api/, /healthz and /metrics:
	// the web UI. It does its own sign-in and CSRF checks; the API's Host
	// check and its refusal of other sites' changes come first.
	UI http.Handler
}

// route is one endpoint and what guards it.
type route struct {
	pattern string
	// need is the role a token must have; "" for public routes and the
	// callbacks, which check the attempt's token themselves.
	need auth.Role
	// public routes need no token and may be read by any web page.
	public bool
	// callback routes are called by steps with their attempt token.
	callback bool
	// accepts are the content types the route takes a body in; nil for a
	// route that reads no body. Routes with a role refuse other types; the
	// callbacks take a body whatever its type, see [Server.callback].
	accepts []string
	h       http.HandlerFunc
}

// New returns the API handler over an engine and its store.
func New(eng *engine.Engine, st store.Store, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		eng: eng, st: st, log: o.Logger, mux: http.NewServeMux(), auth: o.Auth, vault: o.Vault,
		loopbackOnly: o.Auth == nil && !o.CallbacksOnly, limits: o.Limits.withDefaults(),
	}
	routes := []route{
		{pattern: "GET /healthz", public: true, h: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
		{pattern: "POST /api/v1/callbacks/{run}/{step}/{attempt}", callback: true, accepts: jsonBody, h: s.callback},
		{pattern: "GET /api/v1/callbacks/{run}/{step}/{attempt}/secrets/{name}", callback: true, h: s.callbackSecret},
	}
	if !o.CallbacksOnly {
		routes = append(routes, []route{
			{pattern: "GET /api/v1/openapi.json", public: true, h: serveOpenAPI},
			{pattern: "GET /metrics", public: true, h: eng.Metrics().Handler().ServeHTTP},
			{pattern: "POST /api/v1/pipelines", need: auth.Admin, accepts: yamlBody, h: s.applyPipeline},
			{pattern: "GET /api/v1/pipelines", need: auth.Viewer, h: s.listPipelines},
			{pattern: "GET /api/v1/pipelines/{name}", need: auth.Viewer, h: s.getPipeline},
			{pattern: "DELETE /api/v1/pipelines/{name}", need: auth.Admin, h: s.deletePipeline},
			{pattern: "POST /api/v1/pipelines/{name}/schedules/pause", need: auth.Operator, accepts: jsonBody, h: s.pauseSchedules},
			{pattern: "POST /api/v1/pipelines/{name}/schedules/resume", need: auth.Operator, accepts: jsonBody, h: s.resumeSchedules},
			{pattern: "POST /api/v1/pipelines/{name}/runs", need: auth.Operator, accepts: jsonBody, h: s.createRun},
			{pattern: "GET /api/v1/runs", need: auth.Viewer, h: s.listRuns},
			{pattern: "GET /api/v1/runs/{id}", need: auth.Viewer, h: s.getRun},
			{pattern: "POST /api/v1/runs/{id}/cancel", need: auth.Operator, accepts: jsonBody, h: s.cancelRun},
			{pattern: "POST /api/v1/runs/{id}/retry", need: auth.Operator, accepts: jsonBody, h: s.retryRun},
			{pattern: "POST /api/v1/runs/{id}/steps/{step}/approval", need: auth.Operator, accepts: jsonBody, h: s.decideApproval},
			{pattern: "GET /api/v1/runs/{id}/steps/{step}/logs", need: auth.Viewer, h: s.stepLogs},
			{pattern: "GET /api/v1/secrets", need: auth.Admin, h: s.listSecrets},
			{pattern: "PUT /api/v1/secrets/{name}", need: auth.Admin, accepts: secretBody, h: s.putSecret},
			{pattern: "DELETE /api/v1/secrets/{name}", need: auth.Admin, h: s.deleteSecret},
			{pattern: "POST /api/v1/secrets/rotate", need: auth.Admin, accepts: jsonBody, h: s.rotateSecrets},
			{pattern: "GET /api/v1/tokens", need: auth.Admin, h: s.listTokens},
			{pattern: "POST /api/v1/tokens", need: auth.Admin, accepts: jsonBody, h: s.createToken},
			{pattern: "DELETE /api/v1/tokens/{name}", need: auth.Admin, h: s.revokeToken},
			{pattern: "GET /api/v1/audit", need: auth.Admin, h: s.listAudit},
		}...)
	}
	for _, rt := range routes {
		s.mux.Handle(rt.pattern, s.protect(rt))
	}
	s.routes = routes
	noEndpoint := s.protect(route{h: func(w http.ResponseWriter, r *http.Request) {
		refuse(w, r, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s; see /api/v1/openapi.json", r.Method, r.URL.Path))
	}})
	if o.UI != nil && !o.CallbacksOnly {
		s.mux.Handle("/api/", noEndpoint)
		// public: a link from elsewhere may open a page (GET); changes
		// from other sites are still refused.
		s.mux.Handle("/", s.protect(route{public: true, h: o.UI.ServeHTTP}))
	} else {
		s.mux.Handle("/", noEndpoint)
	}
	return s
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.setDeadlines(w, r)
	s.mux.ServeHTTP(w, r)
}

// protect runs a route's checks in order: the Host (without tokens; not
// for the callbacks, which steps reach by other names), the browser's own
// account of where the request comes from, a body where the route takes
// none, the token, and the content type ([Server.guard]). Each comes before
// the body is read.
func (s *Server) protect(rt route) http.Handler {
	var h http.Handler = rt.h
	if rt.need != "" {
		h = s.guard(rt, h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rt.callback && !s.checkHost(w, r) {
			return
		}
		if !checkSite(w, r, rt.public) {
			return
		}
		if rt.accepts == nil && r.ContentLength != 0 && rt.pattern != "" {
			refuse(w, r, http.StatusBadRequest, fmt.Sprintf("%s %s takes no body", r.Method, r.URL.Path))
			return
		}
		h.ServeHTTP(w, r)
	})
}

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

// refuse answers an error and closes the connection after it, without
// reading what is left of the request's body: a slow or endless body
// would hold the connection (net/http reads up to 256 KiB of an unread
// body before it closes, however slowly it comes).
func refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	w.Header().Set("Connection", "close")
	if bodyPending(r) {
		if conn, buf, err := http.NewResponseController(w).Hijack(); err == nil {
			answerAndClose(conn, buf.Writer, r, w.Header(), code, msg)
			return
		}
		// HTTP/2 cannot be taken over, and needs not: it resets the stream.
	}
	writeError(w, code, msg)
}

// answerAndClose writes an error answer on a connection taken from the
// server, half-closes it and closes it a moment later, as net/http does
// for a body it did not read: the client gets the answer, not a reset.
func answerAndClose(conn net.Conn, bw *bufio.Writer, r *http.Request, header http.Header, code int, msg string) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetIndent("", "  ")
	_ = enc.Encode(Error{Error: msg})
	h := header.Clone()
	h.Del("Connection")
	h.Set("Content-Type", "application/json")
	resp := &http.Response{
		StatusCode: code, ProtoMajor: 1, ProtoMinor: 1, Request: r, Header: h, Close: true,
		ContentLength: int64(body.Len()), Body: io.NopCloser(&body),
	}
	_ = resp.Write(bw)
	_ = bw.Flush()
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	time.AfterFunc(closeDelay, func() { _ = conn.Close() })
}

// closeDelay is how long a refused connection stays open after its answer,
// for the client to read it.
const closeDelay = 500 * time.Millisecond

// readBody reads a request body of at most limit bytes; past that it answers
// 413 naming what was too large, and returns false.
func readBody(w http.ResponseWriter, r *http.Request, limit int, what string) ([]byte, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		refuse(w, r, http.StatusBadRequest, "read body: "+clean(err.Error()))
		return nil, false
	}
	if len(data) > limit {
		refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s is larger than %d bytes", what, limit))
		return nil, false
	}
	return data, true
}
