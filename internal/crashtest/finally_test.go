package crashtest

import (
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
)

// TestFinallySurvivesKill: a server killed with SIGKILL while a finally
// step's container runs; the restarted server re-attaches to it, the step
// ends once, and the run ends as its other steps said, with no container
// left.
func TestFinallySurvivesKill(t *testing.T) {
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	s := newServer(t, bridgeHost(t, cli), "docker")
	s.start("")
	s.waitReady()
	s.apply(`name: cleanup
steps:
  - name: work
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo failing; exit 3"]
finally:
  - name: teardown
    image: ` + image + `
    pull: never
    timeout: 2m
    command: ["sh", "-c", "echo tearing down after $BATON_FAILED_STEP; sleep 3; echo removed=yes >> $BATON_OUTPUT"]
`)
	ids := []string{}
	removeContainersOf(t, cli, func() []string { return ids })
	r, err := s.client.Trigger(t.Context(), "cleanup", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, r.ID)
	waitUntil(t, time.Minute, "the finally step's container to run", func() bool {
		run := s.run(r.ID)
		for _, st := range run.Steps {
			if st.Name == "teardown" && st.Status == "running" && len(st.Attempts) == 1 && st.Attempts[0].Handle != "" {
				return true
			}
		}
		return false
	})
	s.kill()
	s.restart()
	s.waitAllTerminal(2 * time.Minute)
	run := s.run(r.ID)
	if run.Status != "failed" {
		t.Errorf("run after a kill in its finally phase: %s (%q), want failed as its step did", run.Status, run.Error)
	}
	for _, st := range run.Steps {
		if st.Name != "teardown" {
			continue
		}
		if st.Status != "succeeded" || len(st.Attempts) != 1 {
			t.Errorf("teardown: %s after %d attempts (%q), want one attempt, re-attached, succeeded", st.Status, len(st.Attempts), st.Error)
		}
	}
	if run.Variables["removed"] != "yes" {
		t.Errorf("the finally step's output after the restart: %q", run.Variables["removed"])
	}
	if logs, err := s.logLines(r.ID, "teardown"); err != nil || len(logs) == 0 || !strings.Contains(logs[0].Text, "after work") {
		t.Errorf("teardown logs: %v, %v", logs, err)
	}
	if left := containersOf(t, cli, r.ID); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}
	s.stop()
}
