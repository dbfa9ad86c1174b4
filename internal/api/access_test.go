package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/vault"
)

// securedServer is the API with tokens required, over a real SQLite file and
// HTTP, with a token of each role.
func securedServer(t *testing.T) (*server, map[string]string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "secret.key")
	if err := secret.GenerateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	key, err := secret.LoadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	vlt := vault.New(st, secret.NewKeyring(key))
	eng, err := engine.New(engine.Config{Store: st, Executor: noop.New(), Secrets: vlt})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(eng, st, api.Options{Auth: auth.New(st), Vault: vlt}))
	t.Cleanup(func() {
		srv.Close()
		_ = eng.Close(ctx)
		_ = st.Close()
	})
	tokens := map[string]string{}
	for _, role := range []auth.Role{auth.Viewer, auth.Operator, auth.Admin} {
		tok, _, err := auth.Create(ctx, st, string(role)+"-token", role, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tokens[string(role)] = tok
	}
	revoked, _, err := auth.Create(ctx, st, "gone", auth.Admin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.TokenRevoke(ctx, "gone", time.Now()); err != nil {
		t.Fatal(err)
	}
	tokens["revoked"] = revoked
	tokens["malformed"] = "baton_not-a-real-token"
	return &server{t: t, url: srv.URL, st: st, eng: eng}, tokens
}

const demoSpec = "name: demo\nsteps:\n  - name: only\n    command: [\"true\"]\n"

// TestRolesOverEveryEndpoint checks that each role can do exactly what its
// table says, on every endpoint, and that no token, a malformed token and a
// revoked token get 401.
func TestRolesOverEveryEndpoint(t *testing.T) {
	s, tokens := securedServer(t)
	ctx := context.Background()
	if _, _, err := s.eng.Apply(ctx, "demo.yaml", []byte(demoSpec)); err != nil {
		t.Fatal(err)
	}
	run, err := s.eng.Submit(ctx, &engine.SubmitParams{Pipeline: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	endpoints := []struct {
		method, path, body string
		need               auth.Role
	}{
		{"GET", "/api/v1/pipelines", "", auth.Viewer},
		{"GET", "/api/v1/pipelines/demo", "", auth.Viewer},
		{"GET", "/api/v1/runs", "", auth.Viewer},
		{"GET", "/api/v1/runs/" + run.ID, "", auth.Viewer},
		{"GET", "/api/v1/runs/" + run.ID + "/steps/only/logs", "", auth.Viewer},
		{"POST", "/api/v1/pipelines/demo/runs", "{}", auth.Operator},
		{"POST", "/api/v1/runs/" + run.ID + "/cancel", "", auth.Operator},
		{"POST", "/api/v1/runs/" + run.ID + "/retry", `{"from": "only"}`, auth.Operator},
		{"POST", "/api/v1/runs/" + run.ID + "/steps/only/approval", `{"approve": true}`, auth.Operator},
		{"POST", "/api/v1/pipelines", demoSpec, auth.Admin},
		{"POST", "/api/v1/pipelines/demo/schedules/pause", "", auth.Operator},
		{"POST", "/api/v1/pipelines/demo/schedules/resume", "", auth.Operator},
		{"DELETE", "/api/v1/pipelines/nope", "", auth.Admin},
		{"GET", "/api/v1/secrets", "", auth.Admin},
		{"PUT", "/api/v1/secrets/db_password", "hunter2-hunter2", auth.Admin},
		{"DELETE", "/api/v1/secrets/nope", "", auth.Admin},
		{"POST", "/api/v1/secrets/rotate", "", auth.Admin},
		{"GET", "/api/v1/tokens", "", auth.Admin},
		{"POST", "/api/v1/tokens", `{"name": "ci-%s", "role": "viewer"}`, auth.Admin},
		{"DELETE", "/api/v1/tokens/nope", "", auth.Admin},
		{"GET", "/api/v1/audit", "", auth.Admin},
	}
	for _, e := range endpoints {
		for _, who := range []string{"", "malformed", "revoked", "viewer", "operator", "admin"} {
			body := e.body
			if strings.Contains(body, "%s") {
				body = strings.ReplaceAll(body, "%s", who)
			}
			var hdr []string
			if who != "" {
				hdr = []string{"Authorization", "Bearer " + tokens[who]}
			}
			code, resp := s.do(e.method, e.path, body, hdr...)
			switch {
			case who == "" || who == "malformed" || who == "revoked":
				if code != http.StatusUnauthorized {
					t.Errorf("%s %s as %q: %d, want 401", e.method, e.path, who, code)
				}
			case !auth.Role(who).Allows(e.need):
				if code != http.StatusForbidden || !strings.Contains(resp, string(e.need)) {
					t.Errorf("%s %s as %s: %d %s, want 403 naming %s", e.method, e.path, who, code, resp, e.need)
				}
			default:
				if code == http.StatusUnauthorized || code == http.StatusForbidden {
					t.Errorf("%s %s as %s: %d %s, want it allowed", e.method, e.path, who, code, resp)
				}
			}
		}
	}
	// Health and metrics need no token.
	for _, path := range []string{"/healthz", "/metrics"} {
		if code, _ := s.do("GET", path, ""); code != http.StatusOK {
			t.Errorf("GET %s without a token: %d, want 200", path, code)
		}
	}
}

func TestAuditRecordsWhoChangedWhat(t *testing.T) {
	s, tokens := securedServer(t)
	admin := []string{"Authorization", "Bearer " + tokens["admin"]}
	if code, body := s.do("POST", "/api/v1/pipelines?filename=demo.yaml", demoSpec, admin...); code != http.StatusCreated {
		t.Fatalf("apply: %d %s", code, body)
	}
	if code, body := s.do("PUT", "/api/v1/secrets/api_key", "s3cr3t-value-9", admin...); code != http.StatusOK {
		t.Fatalf("set secret: %d %s", code, body)
	}
	if code, body := s.do("POST", "/api/v1/pipelines/demo/runs", "{}", "Authorization", "Bearer "+tokens["operator"]); code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	code, body := s.do("GET", "/api/v1/audit", "", admin...)
	if code != http.StatusOK {
		t.Fatalf("audit: %d %s", code, body)
	}
	var entries []api.AuditEntry
	if err := json.Unmarshal([]byte(body), &entries); err != nil {
		t.Fatal(err)
	}
	want := []string{"operator-token run.create", "admin-token secret.set api_key", "admin-token pipeline.apply demo"}
	if len(entries) != len(want) {
		t.Fatalf("audit has %d entries, want %d: %s", len(entries), len(want), body)
	}
	for i, e := range entries {
		got := e.Actor + " " + e.Action
		if e.Action != "run.create" {
			got += " " + e.Target
		}
		if got != want[i] {
			t.Errorf("audit[%d] = %q, want %q", i, got, want[i])
		}
	}
	if strings.Contains(body, "s3cr3t-value-9") {
		t.Error("the audit log holds a secret value")
	}
	// Listing secrets shows names, never values.
	_, body = s.do("GET", "/api/v1/secrets", "", admin...)
	if !strings.Contains(body, `"api_key"`) || strings.Contains(body, "s3cr3t") {
		t.Errorf("secrets list = %s", body)
	}
}
