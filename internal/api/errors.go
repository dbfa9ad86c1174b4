package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// storeError maps a store or engine error to a response. notFound is the
// answer to [store.ErrNotFound], in the words of what the request asked for
// (`no pipeline "x"; see 'baton pipelines'`); other errors are shown
// without the names of the layers they passed (engine, sqlite, ...).
// Unexpected errors are logged and answered without their text, which may
// name files and queries.
func (s *Server) storeError(w http.ResponseWriter, err error, notFound string) {
	code, msg := s.errorAnswer(err, notFound)
	writeError(w, code, msg)
}

// errorAnswer is the status and message [Server.storeError] answers.
func (s *Server) errorAnswer(err error, notFound string) (int, string) {
	if errors.Is(err, store.ErrNotFound) && notFound != "" {
		return http.StatusNotFound, notFound
	}
	code, msg, ok := ErrorMessage(err)
	if !ok {
		s.log.Error("api request", "err", err)
	}
	return code, msg
}

// ErrorMessage is the status and the message for a user of an engine or
// store error: its text without layer names when it is about the request
// (not found, invalid, a conflict), else a 500 that names nothing, and ok
// false, so the caller logs the error itself.
func ErrorMessage(err error) (code int, msg string, ok bool) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, clean(err.Error()), true
	case errors.Is(err, engine.ErrInvalid):
		return http.StatusBadRequest, clean(err.Error()), true
	case errors.Is(err, engine.ErrFinished), errors.Is(err, store.ErrConflict), errors.Is(err, engine.ErrStale),
		errors.Is(err, engine.ErrNotWaiting):
		return http.StatusConflict, clean(err.Error()), true
	default:
		return http.StatusInternalServerError, "internal error; the server's log has the details", false
	}
}

// layers are the prefixes baton's packages put on the errors they pass on:
// context for a log, noise for the user.
var layers = map[string]bool{
	"engine": true, "sqlite": true, "store": true, "vault": true, "auth": true,
	"schedule": true, "api": true, "secret": true, "docker": true, "process": true,
	engine.ErrInvalid.Error(): true,
}

// clean drops layer names and repeated context from an error's text:
// `engine: pipeline "x": sqlite: pipeline "x": not found` reads
// `pipeline "x": not found`.
func clean(msg string) string {
	parts := strings.Split(msg, ": ")
	out := parts[:0]
	for _, p := range parts {
		if layers[p] || (len(out) > 0 && out[len(out)-1] == p) {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}
