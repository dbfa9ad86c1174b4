package webui

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

// A session is the API token a user signed in with, held by the browser as
// a sealed cookie: the token's hash and an expiry, sealed (encrypted and
// authenticated) with the server's key. It is checked against the store at
// every request, so revoking the token ends its sessions at once, and no
// table of sessions needs to be kept or shared between servers.

// Cookie names. Under TLS the cookie takes the __Host- prefix, which
// browsers only accept when Secure, for "/" and without a Domain.
const (
	cookieName       = "baton_session"
	secureCookieName = "__Host-baton_session"
	// sealName binds a sealed session to its use.
	sealName = "webui-session"
)

// user is who a request is from.
type user struct {
	Name string
	Role auth.Role
	// Dev is the user of a server without tokens (--dev).
	Dev bool
	// cookie is the session cookie's value, which CSRF tokens derive from.
	cookie string
}

// session is what the cookie seals.
type session struct {
	Hash    []byte `json:"h"`
	Expires int64  `json:"e"`
}

// user returns who the request is from, nil if nobody signed in.
func (u *UI) user(r *http.Request) (*user, error) {
	if u.o.Auth == nil {
		return &user{Name: "dev", Role: auth.Admin, Dev: true}, nil
	}
	c, err := r.Cookie(cookieNameFor(r))
	if err != nil || c.Value == "" || len(c.Value) > 1024 {
		return nil, nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil, nil
	}
	plain, err := u.o.Sealer.Open(sealName, sealed)
	if err != nil {
		return nil, nil // another key, tampered with, or from elsewhere
	}
	var s session
	if json.Unmarshal(plain, &s) != nil || u.o.Now().Unix() >= s.Expires {
		return nil, nil
	}
	tok, err := u.o.Store.TokenGetByHash(r.Context(), s.Hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	if !tok.RevokedAt.IsZero() {
		return nil, nil
	}
	return &user{Name: tok.Name, Role: auth.Role(tok.Role), cookie: c.Value}, nil
}

func cookieNameFor(r *http.Request) string {
	if r.TLS != nil {
		return secureCookieName
	}
	return cookieName
}

// setSession gives the browser the session of a token.
func (u *UI) setSession(w http.ResponseWriter, r *http.Request, hash []byte) error {
	expires := u.o.Now().Add(u.o.SessionTTL)
	plain, err := json.Marshal(session{Hash: hash, Expires: expires.Unix()})
	if err != nil {
		return err
	}
	sealed, _, err := u.o.Sealer.Seal(sealName, plain)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieNameFor(r), Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/",
		Expires: expires, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return nil
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieNameFor(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// csrfToken is the token every form of a user's pages carries: derived from
// the session cookie, which no other site can read, so no other site can
// make it.
func (u *UI) csrfToken(usr *user) string {
	if usr == nil {
		return ""
	}
	var sum [32]byte
	if usr.Dev {
		sum = sha256.Sum256(append([]byte("baton-csrf-dev:"), u.devCSRF[:]...))
	} else {
		sum = sha256.Sum256([]byte("baton-csrf:" + usr.cookie))
	}
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (u *UI) checkCSRF(r *http.Request, usr *user) bool {
	got := r.PostForm.Get("csrf")
	want := u.csrfToken(usr)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin reports whether the browser says a POST comes from this
// server's pages: Sec-Fetch-Site same-origin (or none), and an Origin, when
// sent, naming this host. A browser old enough to send neither still needs
// the CSRF token and the SameSite cookie.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	o, err := url.Parse(origin)
	return err == nil && o.Host != "" && strings.EqualFold(o.Host, r.Host)
}

// safeNext keeps a redirect target on this server: a path, not "//host".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || len(next) > 2048 {
		return "/runs"
	}
	return next
}

func (u *UI) signinPage(w http.ResponseWriter, r *http.Request, usr *user) {
	if usr != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	u.render(w, r, nil, http.StatusOK, "signin", &signinData{Next: safeNext(r.URL.Query().Get("next"))})
}

type signinData struct {
	Next  string
	Error string
}

func (u *UI) signin(w http.ResponseWriter, r *http.Request, usr *user) {
	next := safeNext(r.PostForm.Get("next"))
	if u.o.Auth == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	tok, err := u.o.Auth.Check(r.Context(), "Bearer "+token)
	switch {
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrBadToken):
		u.render(w, r, nil, http.StatusUnauthorized, "signin", &signinData{Next: next,
			Error: "That token is not valid. Paste an API token (baton_...) from 'baton tokens create', or the admin.token file in the server's data dir."})
		return
	case err != nil:
		u.log.Error("web ui: sign in", "err", err)
		u.fail(w, r, nil, http.StatusInternalServerError, "The server cannot check tokens now; its log has the details.")
		return
	}
	if err := u.setSession(w, r, auth.Hash(token)); err != nil {
		u.log.Error("web ui: seal session", "err", err)
		u.fail(w, r, nil, http.StatusInternalServerError, "The server cannot make a session now; its log has the details.")
		return
	}
	u.audit(r.Context(), &user{Name: tok.Name}, "ui.signin", tok.Name, "role "+tok.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (u *UI) signout(w http.ResponseWriter, r *http.Request, usr *user) {
	clearSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
