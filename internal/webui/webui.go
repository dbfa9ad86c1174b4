// Package webui is baton's web UI: server-rendered pages (html/template)
// over the same engine and store as the API, with a little plain
// JavaScript that follows runs and logs over Server-Sent Events. Every file
// it serves is embedded in the binary.
//
// A page is only ever what the server rendered and escaped: scripts come
// from /static/ alone (the Content-Security-Policy forbids inline ones), no
// element carries a style attribute, and what a step printed or a trigger
// passed is text. Changes are POSTed forms with a CSRF token, from this
// origin, by a signed-in user whose role allows them; each is audited.
package webui

import (
	"context"
	"crypto/rand"
	"embed"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Sealer seals and opens the session cookie. secret.Keyring is one: servers
// sharing a store share its key, so a session made by one is good on all.
type Sealer interface {
	Seal(name string, plaintext []byte) (sealed []byte, keyID string, err error)
	Open(name string, sealed []byte) ([]byte, error)
}

// Options configure a [UI].
type Options struct {
	Engine *engine.Engine
	Store  store.Store
	// Auth checks the API tokens users sign in with. Nil (--dev) opens
	// every page and action to anyone who can reach the server, which the
	// API restricts to loopback names.
	Auth   *auth.Authenticator
	Sealer Sealer
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts; 0 means 12 hours.
	SessionTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// UI serves the web UI. Mount it at / of the API's handler.
type UI struct {
	o   Options
	log *slog.Logger
	mux *http.ServeMux
	// pages are parsed at the first request that needs them: a server
	// whose UI nobody opens does not hold them (idle memory).
	pagesOnce sync.Once
	pagesVal  *pages
	pagesErr  error
	// stats keeps the health page's statistics a little while.
	stats statsCache
	// devCSRF is the CSRF secret without sessions (--dev).
	devCSRF [32]byte
}

// New returns the web UI.
func New(o Options) (*UI, error) {
	if o.Engine == nil || o.Store == nil {
		return nil, fmt.Errorf("webui: an engine and a store are required")
	}
	if o.Auth != nil && o.Sealer == nil {
		return nil, fmt.Errorf("webui: signing in needs a sealer for the session cookie")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	u := &UI{o: o, log: o.Logger, mux: http.NewServeMux()}
	_, _ = rand.Read(u.devCSRF[:])
	u.routes()
	return u, nil
}

// routes lists every page, stream and action. need is the role it takes;
// "" pages are open without signing in.
func (u *UI) routes() {
	type rt struct {
		pattern string
		need    auth.Role
		h       func(http.ResponseWriter, *http.Request, *user)
	}
	for _, r := range []rt{
		{"GET /{$}", auth.Viewer, func(w http.ResponseWriter, r *http.Request, _ *user) {
			http.Redirect(w, r, "/runs", http.StatusSeeOther)
		}},
		{"GET /runs", auth.Viewer, u.runsPage},
		{"GET /runs/events", auth.Viewer, u.runsEvents},
		{"GET /runs/{id}", auth.Viewer, u.runPage},
		{"GET /runs/{id}/events", auth.Viewer, u.runEvents},
		{"GET /runs/{id}/steps/{step}/log/events", auth.Viewer, u.logEvents},
		{"GET /runs/{id}/steps/{step}/log.txt", auth.Viewer, u.logDownload},
		{"POST /runs/{id}/cancel", auth.Operator, u.cancel},
		{"POST /runs/{id}/rerun", auth.Operator, u.rerun},
		{"POST /runs/{id}/steps/{step}/approval", auth.Operator, u.decide},
		{"GET /pipelines", auth.Viewer, u.pipelinesPage},
		{"GET /pipelines/{name}", auth.Viewer, u.pipelinePage},
		{"POST /pipelines/{name}/runs", auth.Operator, u.trigger},
		{"GET /health", auth.Viewer, u.healthPage},
		{"GET /audit", auth.Admin, u.auditPage},
		{"GET /signin", "", u.signinPage},
		{"POST /signin", "", u.signin},
		{"POST /signout", "", u.signout},
	} {
		u.mux.Handle(r.pattern, u.handle(r.need, r.h))
	}
	u.mux.Handle("GET /static/", http.HandlerFunc(u.static))
	u.mux.Handle("GET /favicon.ico", http.RedirectHandler("/static/favicon.svg", http.StatusMovedPermanently))
	u.mux.Handle("/", u.handle("", func(w http.ResponseWriter, r *http.Request, usr *user) {
		u.fail(w, r, usr, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	}))
}

// ServeHTTP implements [http.Handler].
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	u.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows this origin's scripts, styles and
// connections only: no inline script or style, no plugin, no framing, forms
// posted only here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// handle wraps a page: who the user is, whether their role allows it, and
// for changes, that the form came from this origin with its CSRF token.
func (u *UI) handle(need auth.Role, h func(http.ResponseWriter, *http.Request, *user)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		usr, err := u.user(r)
		if err != nil {
			u.log.Error("web ui: read session", "err", err)
			u.fail(w, r, nil, http.StatusInternalServerError, "The server cannot check your sign-in now; its log has the details.")
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) {
				u.fail(w, r, usr, http.StatusForbidden, "This form was not sent from this server's own pages, so it was refused.")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				u.fail(w, r, usr, http.StatusBadRequest, "The form could not be read: it is too large or not a form.")
				return
			}
			// Sign-in has no session yet: the origin check and the
			// SameSite cookie are what keep other sites out of it.
			if usr != nil && !u.checkCSRF(r, usr) {
				u.fail(w, r, usr, http.StatusForbidden, "This form has expired or was not made by this server; load the page again and retry.")
				return
			}
		}
		if need != "" {
			if usr == nil {
				http.Redirect(w, r, "/signin?next="+safeNext(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if !usr.Role.Allows(need) {
				u.fail(w, r, usr, http.StatusForbidden, fmt.Sprintf("You are signed in as %s with role %s; this needs %s.", usr.Name, usr.Role, need))
				return
			}
		}
		h(w, r, usr)
	})
}

// maxFormBytes bounds a form: params and a re-run's changes fit well within.
const maxFormBytes = 1 << 20

// audit records a change made through the UI. A failure to record is
// logged: the change itself is done.
func (u *UI) audit(ctx context.Context, usr *user, action, target, detail string) {
	err := u.o.Store.AuditAppend(context.WithoutCancel(ctx), &store.AuditEntry{
		Time: u.o.Now(), Actor: usr.Name, Action: action, Target: target, Detail: detail,
	})
	if err != nil {
		u.log.Error("audit", "action", action, "target", target, "err", err)
	}
}

// pages returns the parsed templates, parsing them the first time.
func (u *UI) pages() (*pages, error) {
	u.pagesOnce.Do(func() { u.pagesVal, u.pagesErr = parsePages() })
	return u.pagesVal, u.pagesErr
}
