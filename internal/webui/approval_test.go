package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

func TestApprovalFromTheRunPage(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.apply(`
name: release
steps:
  - name: build
    command: ["` + s.bb + `", "true"]
  - name: gate
    approval: {message: "Ship <it>?"}
  - name: deploy
    command: ["` + s.bb + `", "sh", "-c", "echo \"target=$BATON_VAR_target\""]
`)
	b := s.signedIn(auth.Operator)
	csrf := b.csrf("/pipelines/release")
	code, _, h := b.post("/pipelines/release/runs", url.Values{"csrf": {csrf}})
	if code != http.StatusSeeOther {
		t.Fatalf("trigger: %d", code)
	}
	id := runIDFrom(t, h)
	waitFor(t, "gate to wait for a decision", func() bool {
		_, err := s.st.ApprovalGet(context.Background(), id, "gate")
		return err == nil
	})
	path := "/runs/" + id + "/steps/gate/approval"
	// The page asks, escaping the message; a viewer's would not offer it.
	_, page, _ := b.get("/runs/" + id)
	if !strings.Contains(page, "Step gate waits for a decision.") || !strings.Contains(page, "Ship &lt;it&gt;?") || !strings.Contains(page, `action="`+path+`"`) {
		t.Fatalf("run page:\n%s", page)
	}
	// Bad values, and values with a rejection, are refused; nothing decided.
	for name, form := range map[string]url.Values{
		"no equals":     {"decision": {"approve"}, "values": {"target"}},
		"twice":         {"decision": {"approve"}, "values": {"a=1\na=2"}},
		"reject values": {"decision": {"reject"}, "values": {"a=1"}},
		"no decision":   {},
	} {
		form.Set("csrf", csrf)
		if code, body, _ := b.post(path, form); code != http.StatusBadRequest {
			t.Errorf("%s: %d\n%s", name, code, body)
		}
	}
	code, body, _ := b.post(path, url.Values{"csrf": {csrf}, "decision": {"approve"}, "reason": {"go"}, "values": {"target=eu-west\r\n\r\n"}})
	if code != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", code, body)
	}
	if run := s.waitRun(id); run.Status != store.RunSucceeded {
		t.Fatalf("run: %+v", run)
	}
	logs, _ := s.st.LogList(context.Background(), &store.LogListParams{RunID: id, Step: "deploy"})
	if len(logs) != 1 || logs[0].Text != "target=eu-west" {
		t.Fatalf("deploy saw %+v", logs)
	}
	_, page, _ = b.get("/runs/" + id)
	if !strings.Contains(page, "approved by ui-operator: go") {
		t.Fatalf("decision not shown:\n%s", page)
	}
	// A second decision is refused as too late.
	if code, _, _ := b.post(path, url.Values{"csrf": {csrf}, "decision": {"reject"}}); code != http.StatusConflict {
		t.Fatalf("second decision: %d", code)
	}
	entries, _ := s.st.AuditList(context.Background(), &store.AuditListParams{})
	found := false
	for _, e := range entries {
		if e.Action == "run.approval" && e.Target == id && strings.Contains(e.Detail, "with 1 values") && !strings.Contains(e.Detail, "eu-west") {
			found = true
		}
	}
	if !found {
		t.Fatalf("audit: %+v", entries)
	}
}
