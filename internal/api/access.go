package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

type actorKey struct{}

// guard lets a request through only with a valid token whose role allows
// the route's, and a content type the route takes, and remembers who it is
// for the audit log. Nothing of the body is read before: a refusal closes
// the connection rather than wait for a body.
func (s *Server) guard(rt route, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := "dev"
		if s.auth != nil {
			tok, err := s.auth.Check(r.Context(), r.Header.Get("Authorization"))
			switch {
			case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrBadToken):
				w.Header().Set("WWW-Authenticate", `Bearer realm="baton"`)
				refuse(w, r, http.StatusUnauthorized, err.Error()+"; create one with 'baton tokens create' (the first one is in the server's data dir, admin.token)")
				return
			case err != nil:
				s.log.Error("check token", "err", err)
				refuse(w, r, http.StatusInternalServerError, "cannot check the token now; the server's log has the details")
				return
			}
			if !auth.Role(tok.Role).Allows(rt.need) {
				refuse(w, r, http.StatusForbidden, fmt.Sprintf("token %q has role %s; this needs %s", tok.Name, tok.Role, rt.need))
				return
			}
			actor = tok.Name
		}
		if !checkContentType(w, r, rt) {
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, actor)))
	})
}

// audit records a change made through the API. A failure to record is
// logged, not shown: the change itself is done.
func (s *Server) audit(r *http.Request, action, target, detail string) {
	actor, _ := r.Context().Value(actorKey{}).(string)
	err := s.st.AuditAppend(context.WithoutCancel(r.Context()), &store.AuditEntry{
		Time: time.Now(), Actor: actor, Action: action, Target: target, Detail: detail,
	})
	if err != nil {
		s.log.Error("audit", "action", action, "target", target, "err", err)
	}
}
