package crashtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// cancelPipeline is one step that ignores SIGTERM, so that stopping it takes
// the server's whole stop grace, and that would succeed if run again: a
// retry after a lost cancel shows as a second attempt and a succeeded run.
const cancelPipeline = `name: cancel
steps:
  - name: stubborn
    command: ["sh", "-c", "trap '' TERM; echo started; sleep 20"]
    retry: {limit: 2}
  - name: after
    command: ["true"]
`

// TestCancelSurvivesKill kills the server with SIGKILL right after it
// answered a cancel with 202, while it still waits for the step to stop.
// The restarted server must go on canceling: the run ends canceled, the
// step gets no other attempt, and the step after it never starts.
func TestCancelSurvivesKill(t *testing.T) {
	s := newServer(t, "127.0.0.1", "process")
	s.restart()
	s.apply(cancelPipeline)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r, err := s.client.Trigger(ctx, "cancel", nil)
	if err != nil {
		t.Fatalf("trigger: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		run := s.run(r.ID)
		if len(run.Steps) > 0 && run.Steps[0].Status == store.StepRunning && len(run.Steps[0].Attempts) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the step did not start in 30s: %s", runJSON(run))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.client.Cancel(ctx, r.ID); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	s.kill() // the step ignores SIGTERM: the server was still waiting for it

	s.restart()
	s.waitAllTerminal(90 * time.Second)
	got := s.run(r.ID)
	t.Logf("attempts: %s", attemptSummary(got))
	var problems []string
	if got.Status != store.RunCanceled {
		problems = append(problems, "run is "+string(got.Status)+" ("+got.Error+"), want canceled")
	}
	if n := len(got.Steps[0].Attempts); n != 1 {
		problems = append(problems, fmt.Sprintf("stubborn made %d attempts, want 1: a canceled run starts no other", n))
	}
	if st := got.Steps[1]; st.Status != store.StepCanceled || len(st.Attempts) != 0 {
		problems = append(problems, "after is "+string(st.Status)+", want canceled without an attempt")
	}
	for _, st := range got.Steps {
		for _, a := range st.Attempts {
			if !a.Removed {
				problems = append(problems, "attempt of "+st.Name+" not removed: "+a.CleanupError)
			}
		}
	}
	reportRun(t, got, problems)
	s.stop()
}
