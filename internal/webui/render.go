package webui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
)

// pages are the parsed templates: each page is base.html with the page's
// own file, plus the fragments live updates re-render.
type pages struct {
	byName map[string]*template.Template
	// static maps a file under static/ to its content hash, which links
	// carry so that browsers may keep the file.
	static map[string]string
}

// pageNames are the files under templates/ that are whole pages.
var pageNames = []string{"runs", "run", "pipelines", "pipeline", "health", "audit", "signin", "error"}

func parsePages() (*pages, error) {
	p := &pages{byName: make(map[string]*template.Template), static: make(map[string]string)}
	err := fs.WalkDir(staticFiles, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFiles.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		p.static[strings.TrimPrefix(name, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webui: static files: %w", err)
	}
	funcs := template.FuncMap{
		"static":   p.staticURL,
		"ago":      ago,
		"dur":      fmtDuration,
		"clock":    clock,
		"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"hms":      func(t time.Time) string { return t.UTC().Format("15:04:05.000") },
		"statusOf": statusClass,
		"add":      func(a, b int) int { return a + b },
		"rowsOf":   func(rows []runRow) *runsData { return &runsData{Rows: rows} },
		"mul10":    func(a int) int { return a * 10 },
		"attemptTook": func(a api.Attempt) string {
			if a.StartedAt == nil {
				return ""
			}
			if a.FinishedAt == nil {
				return fmtDuration(time.Since(*a.StartedAt)) + "…"
			}
			return fmtDuration(a.FinishedAt.Sub(*a.StartedAt))
		},
	}
	base, err := template.New("base.html").Funcs(funcs).ParseFS(templateFiles, "templates/base.html", "templates/fragments.html")
	if err != nil {
		return nil, fmt.Errorf("webui: templates: %w", err)
	}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("webui: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

func (p *pages) staticURL(name string) string {
	return "/static/" + name + "?v=" + p.static[name]
}

// view is what every page template gets.
type view struct {
	Title string
	// Nav is the menu entry to mark as current.
	Nav  string
	User *user
	CSRF string
	Data any
}

// CanOperate reports whether the user may trigger, cancel and re-run.
func (v *view) CanOperate() bool { return v.User != nil && v.User.Role.Allows(auth.Operator) }

// CanAdmin reports whether the user may read the audit log.
func (v *view) CanAdmin() bool { return v.User != nil && v.User.Role.Allows(auth.Admin) }

// titled is implemented by page data that names its page.
type titled interface{ title() (title, nav string) }

// render writes a page. It is rendered into a buffer first, so a template
// error is a clean 500 and not half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, usr *user, code int, name string, data any) {
	v := &view{User: usr, CSRF: u.csrfToken(usr), Data: data}
	if t, ok := data.(titled); ok {
		v.Title, v.Nav = t.title()
	}
	var buf bytes.Buffer
	p, err := u.pages()
	if err == nil {
		err = p.byName[name].ExecuteTemplate(&buf, "base.html", v)
	}
	if err != nil {
		u.log.Error("web ui: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered; the server's log has the details", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// fragment renders one named template of a page, for live updates.
func (u *UI) fragment(page, name string, data any) (string, error) {
	var buf bytes.Buffer
	p, err := u.pages()
	if err != nil {
		return "", err
	}
	if err := p.byName[page].ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// errorData is the error page.
type errorData struct {
	Code    int
	Message string
}

func (e *errorData) title() (string, string) { return http.StatusText(e.Code), "" }

// fail shows an error page. msg is for the user: what went wrong and what
// to do; it is escaped like everything else.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, usr *user, code int, msg string) {
	u.render(w, r, usr, code, "error", &errorData{Code: code, Message: msg})
}

// static serves the embedded CSS and JavaScript.
func (u *UI) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
	b, err := staticFiles.ReadFile("static/" + name)
	if err != nil || name == "" || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	if p, err := u.pages(); err == nil && r.URL.Query().Get("v") == p.static[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(b)
}

// ago says how long before now t was, shortly: "3m ago".
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	if d < 0 {
		return "in " + fmtDuration(-d)
	}
	return fmtDuration(d) + " ago"
}

// fmtDuration writes a duration to the second, or to the millisecond under
// a second: "1h02m", "3m05s", "12s", "340ms".
func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// clock writes a time in UTC, to the second.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// statusClass is the CSS class of a run's or step's status. Statuses come
// from the store's fixed sets; anything else gets the neutral class.
func statusClass(s any) string {
	switch v := fmt.Sprint(s); v {
	case "queued", "running", "retrying", "succeeded", "failed", "canceled", "skipped", "pending":
		return "s-" + v
	default:
		return "s-other"
	}
}
