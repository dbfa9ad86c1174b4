package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// TestApprovalRoute: an operator's decision is stored under the token's
// name, audited without its values, and shown on the run; bad bodies,
// a viewer and a second decision are refused.
func TestApprovalRoute(t *testing.T) {
	s, tokens := securedServer(t)
	ctx := context.Background()
	spec := "name: gated\nsteps:\n  - name: gate\n    approval: {timeout: 1h, message: \"Ship?\"}\n  - name: after\n    command: [\"true\"]\n"
	if _, _, err := s.eng.Apply(ctx, "gated.yaml", []byte(spec)); err != nil {
		t.Fatal(err)
	}
	run, err := s.eng.Submit(ctx, &engine.SubmitParams{Pipeline: "gated"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := s.st.ApprovalGet(ctx, run.ID, "gate")
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("the gate never waited: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	path := "/api/v1/runs/" + run.ID + "/steps/gate/approval"
	op := []string{"Authorization", "Bearer " + tokens["operator"]}

	code, body := s.do("GET", "/api/v1/runs/"+run.ID, "", "Authorization", "Bearer "+tokens["viewer"])
	var view api.Run
	if code != http.StatusOK || json.Unmarshal([]byte(body), &view) != nil {
		t.Fatalf("get run: %d %s", code, body)
	}
	if a := view.Steps[0].Approval; a == nil || a.Message != "Ship?" || a.Decided || a.Deadline == nil {
		t.Fatalf("waiting gate in the run view: %s", body)
	}

	for _, tc := range []struct{ body, want string }{
		{`{"approve": true, "extra": 1}`, "unknown field"},
		{`[1]`, "body must be"},
		{`{"approve": "yes"}`, "body must be"},
		{`{"approve": false, "values": {"a": "b"}}`, "values are passed with an approval only"},
		{`{"approve": true, "values": {"BATON_TOKEN": "x"}}`, "reserved"},
		{`{"approve": true, "values": {"target": "eu", "target": "s3cret"}}`, `the decision: \"target\" is named twice`},
		{`{"approve": false, "approve": true}`, `\"approve\" is named twice`},
	} {
		if code, resp := s.do("POST", path, tc.body, op...); code != http.StatusBadRequest || !strings.Contains(resp, tc.want) {
			t.Errorf("POST %s: %d %s, want 400 saying %q", tc.body, code, resp, tc.want)
		}
	}
	if code, resp := s.do("POST", path, `{"approve": true}`, "Authorization", "Bearer "+tokens["viewer"]); code != http.StatusForbidden {
		t.Errorf("viewer decision: %d %s", code, resp)
	}
	if code, resp := s.do("POST", "/api/v1/runs/"+run.ID+"/steps/after/approval", `{"approve": true}`, op...); code != http.StatusConflict || !strings.Contains(resp, "has no approval") {
		t.Errorf("decision on a step without approval: %d %s", code, resp)
	}

	code, body = s.do("POST", path, `{"approve": true, "reason": "go", "values": {"target": "s3cr3t-ish-value"}}`, op...)
	var got api.Approval
	if code != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("approve: %d %s", code, body)
	}
	if !got.Decided || !got.Approved || got.DecidedBy != "operator-token" || got.Reason != "go" || got.Values["target"] != "s3cr3t-ish-value" {
		t.Errorf("approval answer: %+v", got)
	}
	if code, resp := s.do("POST", path, `{"approve": false}`, op...); code != http.StatusConflict || !strings.Contains(resp, "approved by operator-token") {
		t.Errorf("second decision: %d %s", code, resp)
	}
	if _, err := s.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}

	code, body = s.do("GET", "/api/v1/audit", "", "Authorization", "Bearer "+tokens["admin"])
	if code != http.StatusOK || !strings.Contains(body, `"run.approval"`) || !strings.Contains(body, "approved step gate with 1 values") {
		t.Errorf("audit: %d %s", code, body)
	}
	if strings.Contains(body, "s3cr3t-ish-value") {
		t.Errorf("the audit log holds a value: %s", body)
	}
	if n := strings.Count(body, `"run.approval"`); n != 1 {
		t.Errorf("%d run.approval entries, want 1: refusals are not audited", n)
	}
}
