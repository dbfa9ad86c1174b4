package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/vault"
)

// Secret is a secret as the API lists it: never its value.
type Secret struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Token is an API token as listed; Token (the value) is set only in the
// answer that created it.
type Token struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Token     string     `json:"token,omitempty"`
}

// AuditEntry is one change made through the API.
type AuditEntry struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

func (s *Server) needVault(w http.ResponseWriter) bool {
	if s.vault == nil {
		writeError(w, http.StatusNotImplemented, "this server keeps no secrets")
		return false
	}
	return true
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) {
	if !s.needVault(w) {
		return
	}
	rows, err := s.vault.List(r.Context())
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	out := make([]Secret, len(rows))
	for i, row := range rows {
		out[i] = Secret{Name: row.Name, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) {
	if !s.needVault(w) {
		return
	}
	name := r.PathValue("name")
	value, ok := readBody(w, r, vault.MaxValueBytes, "the secret")
	if !ok {
		return
	}
	err := s.vault.Set(r.Context(), name, value, time.Now())
	if errors.Is(err, vault.ErrInvalid) {
		writeError(w, http.StatusBadRequest, clean(err.Error()))
		return
	}
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	s.audit(r, "secret.set", name, "")
	writeJSON(w, http.StatusOK, map[string]string{"name": name})
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) {
	if !s.needVault(w) {
		return
	}
	name := r.PathValue("name")
	if err := s.vault.Delete(r.Context(), name); err != nil {
		s.storeError(w, err, fmt.Sprintf("no secret %q; see 'baton secrets list'", name))
		return
	}
	s.audit(r, "secret.delete", name, "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotateSecrets(w http.ResponseWriter, r *http.Request) {
	if !s.needVault(w) {
		return
	}
	n, err := s.vault.Rotate(r.Context(), time.Now())
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	s.audit(r, "secret.rotate", "*", fmt.Sprintf("%d re-sealed", n))
	writeJSON(w, http.StatusOK, map[string]int{"resealed": n})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	rows, err := s.st.TokenList(r.Context())
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	out := make([]Token, len(rows))
	for i, t := range rows {
		out[i] = Token{Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, RevokedAt: timePtr(t.RevokedAt)}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	data, ok := readJSON(w, r, 4096, "the token request")
	if !ok {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, `body must be {"name": "ci", "role": "operator"}: `+err.Error())
		return
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	token, row, err := auth.Create(r.Context(), s.st, req.Name, role, time.Now())
	switch {
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, fmt.Sprintf("a token named %q exists; choose another name", req.Name))
		return
	case err != nil && strings.HasPrefix(err.Error(), "token name"):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.storeError(w, err, "")
		return
	}
	s.audit(r, "token.create", row.Name, "role "+row.Role)
	writeJSON(w, http.StatusCreated, Token{Name: row.Name, Role: row.Role, CreatedAt: row.CreatedAt, Token: token})
}

// revokeToken revokes a token, but never the last admin one: with none
// left, nobody could manage the server through the API again.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.st.TokenRevokeKeeping(r.Context(), &store.TokenRevokeKeepingParams{Name: name, Keep: string(auth.Admin), Now: time.Now()})
	switch {
	case errors.Is(err, store.ErrLastToken):
		writeError(w, http.StatusConflict, fmt.Sprintf("token %q is the last admin token; create another admin token first ('baton tokens create --name NAME --role admin'), then revoke this one. Should every admin token be lost, 'baton tokens create --local --name NAME --role admin' on the server's machine makes one", name))
		return
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, fmt.Sprintf("token %q is revoked already", name))
		return
	case err != nil:
		s.storeError(w, err, fmt.Sprintf("no token %q; see 'baton tokens list'", name))
		return
	}
	s.audit(r, "token.revoke", name, "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q must be a whole number from 1 to 10000", v))
			return
		}
		limit = n
	}
	rows, err := s.st.AuditList(r.Context(), &store.AuditListParams{Limit: limit})
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	out := make([]AuditEntry, len(rows))
	for i, e := range rows {
		out[i] = AuditEntry{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail}
	}
	writeJSON(w, http.StatusOK, out)
}
