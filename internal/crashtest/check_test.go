package crashtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/store"
)

// expect is what a run must look like once it has ended.
type expect struct {
	steps []string          // every step, in order
	vars  map[string]string // among the run's variables
	// removed: every attempt must say it was removed (executors that leave
	// something behind).
	removed bool
}

// runProblems lists how a finished run differs from what a run that never
// saw a crash looks like. Empty means none.
func runProblems(r *api.Run, want expect) []string {
	var p []string
	if r.Status != store.RunSucceeded {
		p = append(p, fmt.Sprintf("run is %s (%q), want succeeded", r.Status, r.Error))
	}
	for k, v := range want.vars {
		if got, ok := r.Variables[k]; !ok || got != v {
			p = append(p, fmt.Sprintf("variable %s = %q (set: %v), want %q", k, got, ok, v))
		}
	}
	if len(r.Steps) != len(want.steps) {
		p = append(p, fmt.Sprintf("run has %d steps, want %d", len(r.Steps), len(want.steps)))
	}
	for i, st := range r.Steps {
		if i < len(want.steps) && st.Name != want.steps[i] {
			p = append(p, fmt.Sprintf("step %d is %q, want %q", i, st.Name, want.steps[i]))
		}
		p = append(p, stepProblems(st, want.removed)...)
	}
	return p
}

// stepProblems checks one step of a finished run: it succeeded, exactly once
// and in its last attempt, and its attempts ran one after another.
func stepProblems(st api.Step, removed bool) []string {
	var p []string
	if st.Status != store.StepSucceeded {
		p = append(p, fmt.Sprintf("step %s is %s (%q), want succeeded", st.Name, st.Status, st.Error))
	}
	succeeded := 0
	for i, a := range st.Attempts {
		if a.Attempt != i+1 {
			p = append(p, fmt.Sprintf("step %s: attempt at index %d is numbered %d", st.Name, i, a.Attempt))
		}
		if a.Status == store.StepSucceeded {
			succeeded++
			if i != len(st.Attempts)-1 {
				p = append(p, fmt.Sprintf("step %s: attempt %d succeeded but is not the last of %d", st.Name, a.Attempt, len(st.Attempts)))
			}
		}
		if a.Status == store.StepRunning {
			p = append(p, fmt.Sprintf("step %s: attempt %d still running in a finished run", st.Name, a.Attempt))
		}
		if a.StartedAt == nil || a.FinishedAt == nil {
			p = append(p, fmt.Sprintf("step %s: attempt %d has started_at %v, finished_at %v; want both", st.Name, a.Attempt, a.StartedAt, a.FinishedAt))
		} else if a.FinishedAt.Before(*a.StartedAt) {
			p = append(p, fmt.Sprintf("step %s: attempt %d finished (%s) before it started (%s)", st.Name, a.Attempt, a.FinishedAt, a.StartedAt))
		}
		if i > 0 {
			prev := st.Attempts[i-1]
			if prev.FinishedAt != nil && a.StartedAt != nil && a.StartedAt.Before(*prev.FinishedAt) {
				p = append(p, fmt.Sprintf("step %s: attempt %d started at %s, before attempt %d finished at %s",
					st.Name, a.Attempt, a.StartedAt.Format(time.RFC3339Nano), prev.Attempt, prev.FinishedAt.Format(time.RFC3339Nano)))
			}
		}
		if removed && !a.Removed {
			p = append(p, fmt.Sprintf("step %s: attempt %d (%s, %q) not removed (cleanup_error %q)", st.Name, a.Attempt, a.Status, a.Error, a.CleanupError))
		}
	}
	if succeeded != 1 {
		p = append(p, fmt.Sprintf("step %s: %d succeeded attempts, want exactly 1", st.Name, succeeded))
	}
	return p
}

// logProblems checks a finished run's logs: line[step] was printed once by
// each attempt that printed it, and exactly once by the succeeded attempt; no
// line was stored twice.
func (s *server) logProblems(r *api.Run, line map[string]string) []string {
	var p []string
	for _, st := range r.Steps {
		want, ok := line[st.Name]
		if !ok {
			continue
		}
		lines, err := s.logLines(r.ID, st.Name)
		if err != nil {
			p = append(p, fmt.Sprintf("logs of step %s: %v", st.Name, err))
			continue
		}
		perAttempt := make(map[int]int)
		type key struct {
			attempt      int
			time         time.Time
			stream, text string
		}
		seen := make(map[key]bool)
		for _, l := range lines {
			if l.Text == want {
				perAttempt[l.Attempt]++
			}
			k := key{l.Attempt, l.Time, l.Stream, l.Text}
			if seen[k] {
				p = append(p, fmt.Sprintf("logs of step %s: line stored twice: attempt %d %s %s %q", st.Name, l.Attempt, l.Time.Format(time.RFC3339Nano), l.Stream, l.Text))
			}
			seen[k] = true
		}
		for n, c := range perAttempt {
			if c > 1 {
				p = append(p, fmt.Sprintf("logs of step %s: attempt %d has %q %d times, want once", st.Name, n, want, c))
			}
		}
		if last := len(st.Attempts); last > 0 && st.Attempts[last-1].Status == store.StepSucceeded && perAttempt[last] != 1 {
			p = append(p, fmt.Sprintf("logs of step %s: succeeded attempt %d has %q %d times, want once; logs:\n%s",
				st.Name, last, want, perAttempt[last], formatLogs(lines)))
		}
	}
	return p
}

func formatLogs(lines []api.LogLine) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "    #%d attempt %d %s %s %q\n", l.Seq, l.Attempt, l.Time.Format(time.RFC3339Nano), l.Stream, l.Text)
	}
	return b.String()
}

// decodeLogLines reads the NDJSON logs answer.
func decodeLogLines(r io.Reader) ([]api.LogLine, error) {
	dec := json.NewDecoder(r)
	var lines []api.LogLine
	for {
		var l api.LogLine
		err := dec.Decode(&l)
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return lines, fmt.Errorf("decode log line %d: %w", len(lines)+1, err)
		}
		lines = append(lines, l)
	}
}

// containersOf lists the containers, in any state, labelled as baton's for
// the run.
func containersOf(t *testing.T, cli *client.Client, runID string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := cli.ContainerList(ctx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(
			filters.Arg("label", executor.LabelManaged+"=true"),
			filters.Arg("label", executor.LabelRun+"="+runID),
		),
	})
	if err != nil {
		t.Fatalf("list containers of run %s: %v", runID, err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, fmt.Sprintf("%s (%s, step %s attempt %s)", strings.Join(c.Names, ","), c.State,
			c.Labels[executor.LabelStep], c.Labels[executor.LabelAttempt]))
	}
	return names
}

// removeContainersOf removes, when the test ends, whatever baton left of the
// runs ids returns, so a failed test does not leave containers behind.
func removeContainersOf(t *testing.T, cli *client.Client, ids func() []string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for _, id := range ids() {
			cs, err := cli.ContainerList(ctx, container.ListOptions{
				All:     true,
				Filters: filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+id)),
			})
			if err != nil {
				t.Logf("cleanup: list containers of run %s: %v", id, err)
				return
			}
			for _, c := range cs {
				if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
					t.Logf("cleanup: remove container %s: %v", c.ID, err)
				}
			}
		}
	})
}

// attemptSummary says briefly how each step's attempts ended.
func attemptSummary(r *api.Run) string {
	var steps []string
	for _, st := range r.Steps {
		var as []string
		for _, a := range st.Attempts {
			s := fmt.Sprintf("%d %s", a.Attempt, a.Status)
			if a.Error != "" {
				s += fmt.Sprintf(" (%s)", a.Error)
			}
			as = append(as, s)
		}
		steps = append(steps, st.Name+": "+strings.Join(as, ", "))
	}
	return strings.Join(steps, "; ")
}

// reportRun fails the test with the run's problems and its JSON.
func reportRun(t *testing.T, r *api.Run, problems []string) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	t.Errorf("run %s:\n  - %s\nrun:\n%s", r.ID, strings.Join(problems, "\n  - "), runJSON(r))
}

func runJSON(r *api.Run) string {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(data)
}
