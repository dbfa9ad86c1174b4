package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/store"
)

// newDockerHarness is a harness on the real Docker engine. The API listens
// on every interface so containers reach it through host.docker.internal.
func newDockerHarness(t testing.TB, configure ...func(*engine.Config)) (*harness, *docker.Executor, string) {
	t.Helper()
	image := dockertest.BusyboxImage(t)
	// An instance of its own: Reap in one test must never touch the
	// containers of another running in parallel.
	// Each attempt's /baton is a tmpfs under OutputDir where the tests may mount.
	d, err := docker.New(docker.Options{Instance: fmt.Sprintf("enginetest-%d-%d", os.Getpid(), harnessSeq.Add(1)),
		OutputDir: filepath.Join(t.TempDir(), "outputs")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return newHarness(t, d, "0.0.0.0:0", "host.docker.internal", configure...), d, image
}

var harnessSeq atomic.Int64

// leftovers returns the containers baton labelled for a run that still exist.
func leftovers(t *testing.T, d *docker.Executor, runID string) []string {
	t.Helper()
	owned, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, o := range owned {
		if o.RunID == runID {
			left = append(left, o.Name+" ("+o.State+")")
		}
	}
	return left
}

func TestDockerPipeline(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t)
	name := h.apply(`
name: relay
env_prefix: "___"
vars:
  target: world
steps:
  - name: discover
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo discovering $___target; wget -q -O- --header \"Authorization: Bearer $(cat $BATON_TOKEN_FILE)\" --header 'Content-Type: application/json' --post-data '{\"variables\": {\"found\": \"42\"}}' \"$BATON_CALLBACK_URL\""]
  - name: process
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo \"summary=$___found for $___target\" >> $BATON_OUTPUT"]
  - name: report
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo report: $___summary; echo oops >&2"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	if r.Variables["found"] != "42" || r.Variables["summary"] != "42 for world" {
		t.Fatalf("variables = %v", r.Variables)
	}
	if left := leftovers(t, d, r.ID); len(left) != 0 {
		t.Errorf("containers left after success: %v", left)
	}
	// Logs outlive the containers.
	// stdout and stderr are separate pipes: their relative order is not kept.
	if got := h.logs(r.ID, "report"); !strings.Contains(got, "stdout:report: 42 for world\n") || !strings.Contains(got, "stderr:oops\n") || strings.Count(got, "\n") != 2 {
		t.Errorf("report logs = %q", got)
	}
	if got := h.logs(r.ID, "discover"); !strings.Contains(got, "stdout:discovering world\n") {
		t.Errorf("discover logs = %q", got)
	}
}

func TestDockerNothingLeftBehind(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t)
	cases := []struct {
		name, step string
		want       store.RunStatus
		cancel     bool
	}{
		{"failure", `command: ["sh", "-c", "echo bad; exit 4"]`, store.RunFailed, false},
		{"timeout", "timeout: 1s\n    command: [\"sleep\", \"60\"]", store.RunFailed, false},
		{"cancel", `command: ["sleep", "60"]`, store.RunCanceled, true},
		{"missing-image", "command: [\"true\"]\n    image: baton-test/does-not-exist:1", store.RunFailed, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			img := "image: " + image + "\n    "
			if strings.Contains(c.step, "image:") {
				img = ""
			}
			name := h.apply("name: " + c.name + "\nsteps:\n  - name: only\n    pull: never\n    " + img + c.step + "\n")
			ctx := context.Background()
			run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
			if err != nil {
				t.Fatal(err)
			}
			if c.cancel {
				waitFor(t, func() bool { return stepByName(t, h.detail(run.ID), "only").Status == store.StepRunning })
				if err := h.eng.Cancel(ctx, run.ID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := h.eng.Wait(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			r := h.detail(run.ID)
			wantStatus(t, r, c.want)
			if left := leftovers(t, d, r.ID); len(left) != 0 {
				t.Errorf("containers left after %s: %v", c.name, left)
			}
			s := stepByName(t, r, "only")
			switch c.name {
			case "failure":
				if !strings.Contains(s.Error, "exited with code 4") || !strings.Contains(s.Error, "bad") {
					t.Errorf("error = %q", s.Error)
				}
			case "timeout":
				if !strings.Contains(s.Error, "timed out after 1s") {
					t.Errorf("error = %q", s.Error)
				}
			case "missing-image":
				if !strings.Contains(s.Error, "baton-test/does-not-exist:1") {
					t.Errorf("error = %q, want it to name the image", s.Error)
				}
			}
		})
	}
}
