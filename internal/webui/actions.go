package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// Every action is a POSTed form (checked by [UI.handle]: this origin, the
// CSRF token, the role); it answers with a redirect to the run it touched,
// or an error page saying what to change. Each one is audited under the
// signed-in token's name, as the API's are.

// formParams are the fields named param.NAME of a form. A field given
// twice (the pages render each once) is refused: which was meant is a
// guess.
func formParams(r *http.Request) (map[string]string, error) {
	params := make(map[string]string)
	for k, vs := range r.PostForm {
		name, ok := strings.CutPrefix(k, "param.")
		if !ok || name == "" || len(vs) == 0 {
			continue
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("Param %.64q is given twice.", name)
		}
		params[name] = vs[0]
	}
	return params, nil
}

func runURL(id string) string { return "/runs/" + url.PathEscape(id) }

// actionFail shows why an action was refused: the engine's words for bad
// input and conflicts, nothing of internals otherwise.
func (u *UI) actionFail(w http.ResponseWriter, r *http.Request, usr *user, what string, err error) {
	code, msg, ok := api.ErrorMessage(err)
	if !ok {
		u.log.Error("web ui: "+what, "err", err)
	}
	u.fail(w, r, usr, code, fmt.Sprintf("Could not %s: %s.", what, strings.TrimSuffix(msg, ".")))
}

func (u *UI) trigger(w http.ResponseWriter, r *http.Request, usr *user) {
	name := r.PathValue("name")
	params, err := formParams(r)
	if err != nil {
		u.fail(w, r, usr, http.StatusBadRequest, err.Error())
		return
	}
	// An empty field of an optional param means "not given": its default
	// applies, as when the API leaves it out.
	for k, v := range params {
		if v == "" {
			delete(params, k)
		}
	}
	run, err := u.o.Engine.Submit(r.Context(), &engine.SubmitParams{Pipeline: name, Params: params})
	if err != nil {
		if run == nil {
			u.actionFail(w, r, usr, "start a run of "+name, err)
			return
		}
		u.log.Error("run accepted but not started", "run_id", run.ID, "err", err)
	}
	u.audit(r.Context(), usr, "run.create", run.ID, "pipeline "+run.Pipeline+" (web ui)")
	http.Redirect(w, r, runURL(run.ID), http.StatusSeeOther)
}

func (u *UI) cancel(w http.ResponseWriter, r *http.Request, usr *user) {
	id := r.PathValue("id")
	if err := u.o.Engine.Cancel(r.Context(), id); err != nil {
		if errors.Is(err, engine.ErrFinished) {
			u.fail(w, r, usr, http.StatusConflict, "Run "+id+" has ended already; there is nothing to cancel.")
			return
		}
		u.actionFail(w, r, usr, "cancel run "+id, err)
		return
	}
	u.audit(r.Context(), usr, "run.cancel", id, "web ui")
	http.Redirect(w, r, runURL(id), http.StatusSeeOther)
}

func (u *UI) rerun(w http.ResponseWriter, r *http.Request, usr *user) {
	id := r.PathValue("id")
	from := r.PostForm.Get("from")
	params, err := formParams(r)
	if err != nil {
		u.fail(w, r, usr, http.StatusBadRequest, err.Error())
		return
	}
	run, err := u.o.Engine.Rerun(r.Context(), &engine.RerunParams{RunID: id, From: from, Params: params})
	if err != nil {
		if run == nil {
			u.actionFail(w, r, usr, "re-run "+id, err)
			return
		}
		u.log.Error("run accepted but not started", "run_id", run.ID, "err", err)
	}
	detail := "re-run of " + run.RetryOf
	if from != "" {
		detail += " from step " + from
	}
	u.audit(r.Context(), usr, "run.retry", run.ID, detail+" (web ui)")
	http.Redirect(w, r, runURL(run.ID), http.StatusSeeOther)
}

func (u *UI) decide(w http.ResponseWriter, r *http.Request, usr *user) {
	id, step := r.PathValue("id"), r.PathValue("step")
	var approve bool
	switch r.PostForm.Get("decision") {
	case "approve":
		approve = true
	case "reject":
	default:
		u.fail(w, r, usr, http.StatusBadRequest, "Choose Approve or Reject.")
		return
	}
	values, err := formValues(r.PostForm.Get("values"))
	if err != nil {
		u.fail(w, r, usr, http.StatusBadRequest, err.Error())
		return
	}
	if !approve && len(values) > 0 {
		u.fail(w, r, usr, http.StatusBadRequest, "Values go with an approval only; clear them to reject.")
		return
	}
	_, err = u.o.Engine.Decide(r.Context(), &engine.DecideParams{RunID: id, Step: step, Approve: approve, By: usr.Name,
		Reason: r.PostForm.Get("reason"), Values: values})
	var closed *store.ApprovalClosedError
	switch {
	case errors.As(err, &closed):
		u.fail(w, r, usr, http.StatusConflict, fmt.Sprintf("Step %s of run %s takes no decision any more: %s.", step, id, closed.Why))
		return
	case err != nil:
		u.actionFail(w, r, usr, "record the decision", err)
		return
	}
	verb := "rejected"
	if approve {
		verb = "approved"
	}
	detail := verb + " step " + step
	if len(values) > 0 {
		// Names, not values: values may be anything the operator typed.
		detail += fmt.Sprintf(" with %d values", len(values))
	}
	u.audit(r.Context(), usr, "run.approval", id, detail+" (web ui)")
	http.Redirect(w, r, runURL(id), http.StatusSeeOther)
}

// formValues reads an approval's values: NAME=VALUE lines, blank lines
// skipped. The engine checks the names and sizes as the API's are.
func formValues(text string) (map[string]string, error) {
	values := make(map[string]string)
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if name = strings.TrimSpace(name); !ok || name == "" {
			return nil, fmt.Errorf("Line %d of the values is not NAME=VALUE.", i+1)
		}
		if _, dup := values[name]; dup {
			return nil, fmt.Errorf("Value %.64q is given twice.", name)
		}
		values[name] = value
	}
	return values, nil
}
