package crashtest

import (
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
)

// TestFanOutSurvivesKill: a server killed with SIGKILL in the middle of a
// fan-out; the restarted server keeps the instances that ended,
// re-attaches to the one running, starts the rest, and gathers every
// instance's output once, with no container left.
func TestFanOutSurvivesKill(t *testing.T) {
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	s := newServer(t, bridgeHost(t, cli), "docker")
	s.start("")
	s.waitReady()
	s.apply(`name: fan
steps:
  - name: each
    for_each: '["a", "b", "c", "d"]'
    max_parallel: 1
    image: ` + image + `
    pull: never
    timeout: 2m
    command: ["sh", "-c", "sleep 1; echo n=$BATON_VAR_item_index >> $BATON_OUTPUT"]
`)
	ids := []string{}
	removeContainersOf(t, cli, func() []string { return ids })
	r, err := s.client.Trigger(t.Context(), "fan", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, r.ID)
	waitUntil(t, time.Minute, "the second instance's container to run", func() bool {
		for _, st := range s.run(r.ID).Steps {
			if st.Name == "each.1" && st.Status == "running" && len(st.Attempts) == 1 && st.Attempts[0].Handle != "" {
				return true
			}
		}
		return false
	})
	s.kill()
	s.restart()
	s.waitAllTerminal(2 * time.Minute)
	run := s.run(r.ID)
	if run.Status != "succeeded" {
		t.Fatalf("run after a kill mid fan-out: %s (%q)", run.Status, run.Error)
	}
	if got := run.Variables["n"]; got != `{"a":"0","b":"1","c":"2","d":"3"}` {
		t.Errorf("gathered outputs: %q", got)
	}
	for _, st := range run.Steps {
		if strings.HasPrefix(st.Name, "each.") && (st.Status != "succeeded" || len(st.Attempts) != 1) {
			t.Errorf("%s: %s after %d attempts, want one attempt each", st.Name, st.Status, len(st.Attempts))
		}
	}
	if left := containersOf(t, cli, r.ID); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}
	s.stop()
}
