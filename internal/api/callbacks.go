package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// callback takes the outputs a running attempt posts.
//
// Its body is JSON whatever the Content-Type says: curl -d and busybox wget
// --post-data send application/x-www-form-urlencoded unless told otherwise,
// and steps are not browsers. A web page cannot use that leniency: the
// attempt's token comes in the Authorization header, which a page cannot
// send to another site without the browser asking first, and it is checked
// before the body is read.
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

// Unwrap lets [http.ResponseController] reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// attemptToken returns the attempt and token of a callback request, or
// answers the refusal and returns false. Nothing of the body is read.
func attemptToken(w http.ResponseWriter, r *http.Request) (int, string, bool) {
	attempt, err := strconv.Atoi(r.PathValue("attempt"))
	if err != nil || attempt < 1 {
		refuse(w, r, http.StatusNotFound, "no such attempt")
		return 0, "", false
	}
	token, ok := auth.BearerToken(r.Header.Get("Authorization"))
	if !ok {
		refuse(w, r, http.StatusUnauthorized, `send the attempt's token, from the file $BATON_TOKEN_FILE names: Authorization: Bearer $(cat "$BATON_TOKEN_FILE")`)
		return 0, "", false
	}
	return attempt, token, true
}

func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	attempt, token, ok := attemptToken(w, r)
	if !ok {
		return
	}
	run, step := r.PathValue("run"), r.PathValue("step")
	// Who is asking comes before what they send.
	if err := s.eng.CheckAttempt(r.Context(), run, step, attempt, token); err != nil {
		code, msg := s.callbackAnswer(err)
		refuse(w, r, code, msg)
		return
	}
	vars, err := contract.ParseCallbackBody(r.Body)
	switch {
	case errors.Is(err, contract.ErrTooLarge):
		refuse(w, r, http.StatusRequestEntityTooLarge, clean(err.Error()))
		return
	case err != nil:
		refuse(w, r, http.StatusBadRequest, clean(err.Error()))
		return
	}
	if err := s.eng.PostOutputs(r.Context(), run, step, attempt, token, vars); err != nil {
		code, msg := s.callbackAnswer(err)
		writeError(w, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(vars)})
}

// callbackAnswer is the status and message for an error of a callback.
func (s *Server) callbackAnswer(err error) (int, string) {
	switch {
	case errors.Is(err, engine.ErrUnauthorized):
		return http.StatusUnauthorized, clean(err.Error())
	case errors.Is(err, contract.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, clean(err.Error())
	default:
		return s.errorAnswer(err, "")
	}
}

// callbackSecret hands a running attempt one of the secrets its step
// declares, for engines where no file can be mounted.
func (s *Server) callbackSecret(w http.ResponseWriter, r *http.Request) {
	attempt, token, ok := attemptToken(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	value, err := s.eng.AttemptSecret(r.Context(), r.PathValue("run"), r.PathValue("step"), attempt, token, name)
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(value)
	case errors.Is(err, engine.ErrForbidden):
		writeError(w, http.StatusForbidden, clean(err.Error()))
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("secret %q is declared but not set; set it with 'baton secrets set %s'", name, name))
	default:
		code, msg := s.callbackAnswer(err)
		writeError(w, code, msg)
	}
}
