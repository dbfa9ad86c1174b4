package crashtest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
)

// approvalPipeline waits for a decision between two local steps; deploy
// prints the value the approval passed.
const approvalPipeline = `name: gated
steps:
  - name: build
    command: ["true"]
  - name: gate
    approval: {timeout: 1h, message: "Deploy to prod?"}
  - name: deploy
    command: ["sh", "-c", "echo deploying to $BATON_VAR_target"]
`

// waitWaiting waits until the run's gate waits for a decision, and
// returns its approval as the API shows it.
func waitWaiting(t *testing.T, s *server, id string) *api.Approval {
	t.Helper()
	var a *api.Approval
	waitUntil(t, time.Minute, "the gate to wait for approval", func() bool {
		for _, st := range s.run(id).Steps {
			if st.Name == "gate" && st.Approval != nil && !st.Approval.Decided {
				a = st.Approval
				return true
			}
		}
		return false
	})
	return a
}

func (s *server) decide(id string, req *api.ApprovalRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := s.client.Decide(ctx, id, "gate", req)
	return err
}

func (s *server) trigger(pipeline string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r, err := s.client.Trigger(ctx, pipeline, nil)
	if err != nil {
		s.t.Fatalf("trigger: %v", err)
	}
	return r.ID
}

// approvedProblems says how a run approved with target=prod ended other
// than it should: succeeded, deploy run once and seeing the value.
func approvedProblems(s *server, r *api.Run) []string {
	var problems []string
	if r.Status != store.RunSucceeded {
		problems = append(problems, "run is "+string(r.Status)+" ("+r.Error+"), want succeeded")
	}
	for _, st := range r.Steps {
		switch st.Name {
		case "gate":
			if st.Status != store.StepSucceeded || st.Outputs["target"] != "prod" || st.Approval == nil || !st.Approval.Approved {
				problems = append(problems, "gate is "+string(st.Status)+" with outputs "+runJSON(r))
			}
		case "deploy":
			if len(st.Attempts) != 1 {
				problems = append(problems, fmt.Sprintf("deploy made %d attempts, want 1", len(st.Attempts)))
			}
		}
	}
	lines, err := s.logLines(r.ID, "deploy")
	if err != nil {
		problems = append(problems, "deploy logs: "+err.Error())
	} else if got := formatLogs(lines); !strings.Contains(got, "deploying to prod") {
		problems = append(problems, "deploy printed "+got)
	}
	return problems
}

// TestApprovalSurvivesKill kills the server with SIGKILL while a step
// waits for approval. The restarted server waits on, with the wait's
// first start and deadline; an approval given after the restart lets the
// run go on with its values.
func TestApprovalSurvivesKill(t *testing.T) {
	s := newServer(t, "127.0.0.1", "process")
	s.restart()
	s.apply(approvalPipeline)
	id := s.trigger("gated")
	before := waitWaiting(t, s, id)
	s.kill()

	s.restart()
	after := waitWaiting(t, s, id)
	if !after.Since.Equal(before.Since) || after.Deadline == nil || !after.Deadline.Equal(*before.Deadline) {
		t.Errorf("the restart moved the wait: since %v → %v, deadline %v → %v", before.Since, after.Since, before.Deadline, after.Deadline)
	}
	if err := s.decide(id, &api.ApprovalRequest{Approve: true, Reason: "after the crash", Values: map[string]string{"target": "prod"}}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	s.waitAllTerminal(time.Minute)
	r := s.run(id)
	reportRun(t, r, approvedProblems(s, r))
	s.stop()
}

// TestApprovalAcrossServers: two servers on one PostgreSQL database. A
// decision given to the server that does not drive the run is acted on by
// the one that does; a decision given while the driving server is dead
// is stored at once, and the server that takes the run over acts on it.
func TestApprovalAcrossServers(t *testing.T) {
	url := pgtest.Database(t)
	key := filepath.Join(t.TempDir(), "secret.key")
	if err := secret.GenerateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	var servers []*server
	for i := range 2 {
		s := newServer(t, "127.0.0.1", "process")
		s.extra = []string{"--store", url, "--secret-key-file", key, "--lease", fleetLease}
		s.start("")
		if i > 0 {
			s.client.Token = servers[0].client.Token
		}
		s.waitReady()
		servers = append(servers, s)
	}
	a, b := servers[0], servers[1]
	a.apply(approvalPipeline)

	// a drives it; b takes the decision.
	id := a.trigger("gated")
	waitWaiting(t, b, id)
	if err := b.decide(id, &api.ApprovalRequest{Approve: true, Values: map[string]string{"target": "prod"}}); err != nil {
		t.Fatalf("approve through the other server: %v", err)
	}
	waitUntil(t, time.Minute, "the run to end", func() bool { return b.run(id).Status.Terminal() })
	r := b.run(id)
	reportRun(t, r, approvedProblems(b, r))

	// a dies while the gate waits; b takes the decision before it takes
	// the run over.
	id = a.trigger("gated")
	waitWaiting(t, b, id)
	a.kill()
	if err := b.decide(id, &api.ApprovalRequest{Approve: true, Reason: "owner down", Values: map[string]string{"target": "prod"}}); err != nil {
		t.Fatalf("approve while the driving server is down: %v", err)
	}
	b.waitAllTerminal(time.Minute)
	r = b.run(id)
	reportRun(t, r, approvedProblems(b, r))
}
