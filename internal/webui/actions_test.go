package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

// gated is a pipeline whose step "wait" runs until the file GATE exists.
func gated(bb, gate string) string {
	return `
name: gated
params:
  who: {default: world}
steps:
  - name: first
    command: ["` + bb + `", "sh", "-c", "echo first $BATON_VAR_who; echo seen=$BATON_VAR_who >> $BATON_OUTPUT"]
  - name: wait
    command: ["` + bb + `", "sh", "-c", "echo waiting; while [ ! -e ` + gate + ` ]; do sleep 0.05; done; echo done"]
  - name: last
    command: ["` + bb + `", "echo", "last"]
`
}

func TestViewerSeesNoButtonsAndCannotAct(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	gate := filepath.Join(t.TempDir(), "gate")
	s.apply(gated(s.bb, gate))
	op := s.signedIn(auth.Operator)
	code, _, h := op.post("/pipelines/gated/runs", url.Values{"csrf": {op.csrf("/pipelines/gated")}})
	if code != http.StatusSeeOther {
		t.Fatalf("trigger: %d", code)
	}
	id := runIDFrom(t, h)
	defer os.WriteFile(gate, nil, 0o644)

	// The operator's pages have the forms (cancel while the run runs,
	// re-run once it ended); the viewer's have none, in either state.
	viewer := s.signedIn(auth.Viewer)
	check := func(buttons ...string) {
		t.Helper()
		_, runPage, _ := op.get("/runs/" + id)
		_, pipePage, _ := op.get("/pipelines/gated")
		for _, want := range buttons {
			if !strings.Contains(runPage+pipePage, want) {
				t.Fatalf("operator's pages lack %s", want)
			}
		}
		_, runPage, _ = viewer.get("/runs/" + id)
		_, pipePage, _ = viewer.get("/pipelines/gated")
		_, runsPage, _ := viewer.get("/runs")
		for _, page := range []string{runPage, pipePage, runsPage} {
			// Below the header (sign out), a viewer's page posts nothing.
			if main := page[strings.Index(page, "<main"):]; strings.Contains(main, `method="post"`) {
				t.Fatalf("viewer's page has a form that changes something:\n%s", main)
			}
		}
	}
	s.waitStep(id, "wait", store.StepRunning)
	check(`action="/runs/`+id+`/cancel"`, `action="/pipelines/gated/runs"`)
	// And what a viewer posts anyway is refused, nothing changed.
	csrf := viewer.csrf("/runs")
	for _, path := range []string{"/runs/" + id + "/cancel", "/runs/" + id + "/rerun", "/pipelines/gated/runs", "/runs/" + id + "/steps/wait/approval"} {
		code, body, _ := viewer.post(path, url.Values{"csrf": {csrf}, "decision": {"approve"}})
		if code != http.StatusForbidden || !strings.Contains(body, "role viewer") {
			t.Fatalf("viewer POST %s: %d\n%s", path, code, body)
		}
	}
	runs, _ := s.st.RunList(context.Background(), &store.RunListParams{})
	if len(runs) != 1 || runs[0].CancelRequestedAt != (time.Time{}) {
		t.Fatalf("viewer changed something: %+v", runs)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitRun(id)
	check(`action="/runs/`+id+`/rerun"`, `action="/pipelines/gated/runs"`)
}

func TestFormsNeedTheirTokenAndThisOrigin(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	gate := filepath.Join(t.TempDir(), "gate")
	s.apply(gated(s.bb, gate))
	defer os.WriteFile(gate, nil, 0o644)
	b := s.signedIn(auth.Admin)
	csrf := b.csrf("/pipelines/gated")
	other := s.signedIn(auth.Operator).csrf("/runs") // another session's token

	for name, c := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no token":              {url.Values{}, nil},
		"another session's":     {url.Values{"csrf": {other}}, nil},
		"wrong token":           {url.Values{"csrf": {"x" + csrf}}, nil},
		"other origin":          {url.Values{"csrf": {csrf}}, []string{"Origin", "https://evil.example"}},
		"cross-site fetch":      {url.Values{"csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
		"same-site, not origin": {url.Values{"csrf": {csrf}}, []string{"Sec-Fetch-Site", "same-site"}},
	} {
		code, _, _ := b.post("/pipelines/gated/runs", c.form, c.header...)
		if code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	if runs, _ := s.st.RunList(context.Background(), &store.RunListParams{}); len(runs) != 0 {
		t.Fatalf("a refused form started %d runs", len(runs))
	}
	// A form too large is refused without a run.
	code, _, _ := b.post("/pipelines/gated/runs", url.Values{"csrf": {csrf}, "param.who": {strings.Repeat("x", 2<<20)}})
	if code != http.StatusBadRequest {
		t.Fatalf("2 MiB form: %d", code)
	}
	code, _, h := b.post("/pipelines/gated/runs", url.Values{"csrf": {csrf}})
	if code != http.StatusSeeOther {
		t.Fatalf("good form: %d", code)
	}
	_ = runIDFrom(t, h)
}

func TestTriggerCancelRerunAreAudited(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	gate := filepath.Join(t.TempDir(), "gate")
	s.apply(gated(s.bb, gate))
	b := s.signedIn(auth.Operator)
	csrf := b.csrf("/pipelines/gated")

	// Params from the form; a bad one is shown, not a 500.
	code, body, _ := b.post("/pipelines/gated/runs", url.Values{"csrf": {csrf}, "param.nobody": {"x"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "nobody") {
		t.Fatalf("unknown param: %d\n%s", code, body)
	}
	// A field given twice is a guess at what was meant: refused, no run.
	code, body, _ = b.post("/pipelines/gated/runs", url.Values{"csrf": {csrf}, "param.who": {"ops", "<b>dev</b>"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `Param &#34;who&#34; is given twice.`) || strings.Contains(body, "<b>dev") {
		t.Fatalf("a param given twice: %d\n%s", code, body)
	}
	if runs, err := s.st.RunList(context.Background(), &store.RunListParams{Pipeline: "gated", Limit: 10}); err != nil || len(runs) != 0 {
		t.Fatalf("runs after the refused forms: %d, %v", len(runs), err)
	}
	code, _, h := b.post("/pipelines/gated/runs", url.Values{"csrf": {csrf}, "param.who": {"ops"}})
	if code != http.StatusSeeOther {
		t.Fatalf("trigger: %d", code)
	}
	id := runIDFrom(t, h)
	run, err := s.st.RunGet(context.Background(), id)
	if err != nil || run.Params["who"] != "ops" {
		t.Fatalf("run params: %v %+v", err, run)
	}
	// Cancel it while "wait" waits.
	s.waitStep(id, "wait", store.StepRunning)
	if code, body, _ = b.post("/runs/"+id+"/cancel", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("cancel: %d\n%s", code, body)
	}
	if got := s.waitRun(id); got.Status != store.RunCanceled {
		t.Fatalf("after cancel: %s", got.Status)
	}
	if code, body, _ = b.post("/runs/"+id+"/cancel", url.Values{"csrf": {csrf}}); code != http.StatusConflict || !strings.Contains(body, "ended already") {
		t.Fatalf("second cancel: %d\n%s", code, body)
	}
	// Re-run from "wait" with a changed param: "first" is not run again.
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, h = b.post("/runs/"+id+"/rerun", url.Values{"csrf": {csrf}, "from": {"wait"}, "param.who": {"again"}})
	if code != http.StatusSeeOther {
		t.Fatalf("rerun: %d", code)
	}
	re := runIDFrom(t, h)
	got := s.waitRun(re)
	if got.Status != store.RunSucceeded || got.RetryOf != id || got.Params["who"] != "again" {
		t.Fatalf("re-run: %+v", got)
	}
	attempts, _ := s.st.AttemptList(context.Background(), re)
	for _, a := range attempts {
		if a.Step == "first" {
			t.Fatalf("re-run from wait ran first again: %+v", a)
		}
	}
	entries, _ := s.st.AuditList(context.Background(), &store.AuditListParams{})
	var actions []string
	for _, e := range entries {
		if e.Actor == "ui-operator" {
			actions = append(actions, e.Action+" "+e.Target)
		}
	}
	joined := strings.Join(actions, "\n")
	for _, want := range []string{"run.create " + id, "run.cancel " + id, "run.retry " + re} {
		if !strings.Contains(joined, want) {
			t.Fatalf("audit lacks %q:\n%s", want, joined)
		}
	}
}
