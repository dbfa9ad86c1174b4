package swarm

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/baton-dev/baton/internal/executor"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	created := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	soon, late := created.Add(time.Second), created.Add(time.Hour)
	const timeout = time.Minute
	container := &swarm.ContainerStatus{ContainerID: "c1"}
	task := func(id string, state, desired swarm.TaskState, err string, cs *swarm.ContainerStatus) swarm.Task {
		t := swarm.Task{ID: id, NodeID: "n1", DesiredState: desired, Status: swarm.TaskStatus{State: state, Err: err, ContainerStatus: cs}}
		t.CreatedAt = created.Add(time.Duration(len(id)) * time.Millisecond)
		return t
	}
	running := swarm.TaskStateRunning
	for _, tc := range []struct {
		name    string
		stopped bool
		tasks   []swarm.Task
		now     time.Time
		want    outcome
		why     string // a part of verdict.why
	}{
		{"no task yet", false, nil, soon, waiting, ""},
		{"no task in time", false, nil, late, unscheduled, "no task"},
		{"no task after stop", true, nil, late, neverStarted, ""},
		{"pending", false, []swarm.Task{task("a", swarm.TaskStatePending, running, "", nil)}, soon, waiting, ""},
		{"pending too long", false, []swarm.Task{task("a", swarm.TaskStatePending, running, "no suitable node", nil)}, late, unscheduled, "no suitable node"},
		{"preparing too long", false, []swarm.Task{task("a", swarm.TaskStatePreparing, running, "", nil)}, late, unscheduled, "preparing"},
		{"pending too long but stopped", true, []swarm.Task{task("a", swarm.TaskStatePending, swarm.TaskStateShutdown, "", nil)}, late, waiting, ""},
		{"running", false, []swarm.Task{task("a", running, running, "", container)}, late, waiting, ""},
		{"complete", false, []swarm.Task{task("a", swarm.TaskStateComplete, running, "", container)}, soon, exited, ""},
		{"exited non-zero", false, []swarm.Task{task("a", swarm.TaskStateFailed, running, "task: non-zero exit (3)", container)}, soon, exited, ""},
		{"exit after drain", false, []swarm.Task{task("a", swarm.TaskStateFailed, swarm.TaskStateShutdown, "task: non-zero exit (137)", container)}, soon, exited, ""},
		{"start failed", false, []swarm.Task{task("a", swarm.TaskStateFailed, running, "starting container failed: no such file", container)}, soon, failedToStart, "starting container failed"},
		{"rejected", false, []swarm.Task{task("a", swarm.TaskStateRejected, running, "No such image: x:1", nil)}, soon, failedToStart, "No such image"},
		{"drained", false, []swarm.Task{task("a", running, swarm.TaskStateShutdown, "", container)}, soon, lost, "shutting the task down"},
		{"node down", false, []swarm.Task{task("a", running, swarm.TaskStateRemove, "", container)}, soon, lost, "node n1"},
		{"shut down", false, []swarm.Task{task("a", swarm.TaskStateShutdown, swarm.TaskStateShutdown, "", container)}, soon, lost, "without baton asking"},
		{"orphaned", false, []swarm.Task{task("a", swarm.TaskStateOrphaned, swarm.TaskStateShutdown, "", container)}, soon, lost, "orphaned"},
		{"stopped, had run", true, []swarm.Task{task("a", swarm.TaskStateShutdown, swarm.TaskStateShutdown, "", container)}, soon, exited, ""},
		{"stopped before a container", true, []swarm.Task{task("a", swarm.TaskStateShutdown, swarm.TaskStateRemove, "", nil)}, soon, neverStarted, ""},
		{"replaced", false, []swarm.Task{
			task("bb", swarm.TaskStatePending, running, "", nil),
			task("a", swarm.TaskStateShutdown, swarm.TaskStateShutdown, "", container),
		}, soon, lost, "without baton asking"},
		{"rerun while first runs", false, []swarm.Task{
			task("bb", swarm.TaskStatePending, running, "", nil),
			task("a", running, running, "", container),
		}, soon, lost, "again"},
		{"first exited, rerun", false, []swarm.Task{
			task("bb", running, running, "", nil),
			task("a", swarm.TaskStateComplete, running, "", container),
		}, soon, exited, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := swarm.Service{}
			svc.CreatedAt = created
			if tc.stopped {
				svc.Spec.Labels = map[string]string{labelStopped: "true"}
			}
			v := judge(svc, tc.tasks, tc.now, timeout)
			if v.outcome != tc.want {
				t.Errorf("outcome = %d (%s), want %d", v.outcome, v.why, tc.want)
			}
			if !strings.Contains(v.why, tc.why) || (tc.why == "") != (v.why == "") {
				t.Errorf("why = %q, want it to say %q", v.why, tc.why)
			}
			if v.outcome == exited && v.task.ID != "a" {
				t.Errorf("task = %s, want the first one, a", v.task.ID)
			}
		})
	}
}

func TestAttemptName(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[a-z0-9](?:-*[a-z0-9]+)*$`)
	seen := map[string]bool{}
	long := strings.Repeat("Step_with.ODD chars/", 10)
	for _, s := range []executor.Spec{
		{RunID: "r1", Step: "build", Attempt: 1},
		{RunID: "r1", Step: "build", Attempt: 2},
		{RunID: "r1", Step: long, Attempt: 1},
		{RunID: "r1", Step: long + "x", Attempt: 1},
		{RunID: "R1", Step: "-_-", Attempt: 1},
		{RunID: "r1", Step: "ünïcode", Attempt: 10},
	} {
		n := attemptName("inst", &s)
		if len(n) > 50 || !valid.MatchString(n) {
			t.Errorf("attemptName(%q, %q, %d) = %q: not a valid swarm name of at most 50 characters", s.RunID, s.Step, s.Attempt, n)
		}
		if seen[n] {
			t.Errorf("attemptName(%q, %q, %d) = %q, as for another attempt", s.RunID, s.Step, s.Attempt, n)
		}
		seen[n] = true
		if again := attemptName("inst", &s); again != n {
			t.Errorf("attemptName is %q, then %q", n, again)
		}
		if other := attemptName("other", &s); other == n {
			t.Errorf("attemptName is %q for two instances", n)
		}
	}
}

// Secrets swarm cannot hold are refused before anything is made, besides
// what CheckSpec refuses (see TestRefusedAtApply).
func TestCheckRefuses(t *testing.T) {
	t.Parallel()
	e := &Executor{}
	for _, tc := range []struct {
		name string
		spec executor.Spec
		want string
	}{
		{"no image", executor.Spec{Step: "s"}, "no image"},
		{"empty secret", executor.Spec{Image: "x", Secrets: map[string][]byte{"db": nil}}, "1 byte to 500 KiB"},
		{"huge secret", executor.Spec{Image: "x", Secrets: map[string][]byte{"db": make([]byte, 500<<10+1)}}, "1 byte to 500 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.check(&tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("check: err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	if err := e.CheckSpec(&executor.Spec{Image: "x", Secrets: map[string][]byte{"db": nil}}); err != nil {
		t.Errorf("CheckSpec of secrets by name only: %v; their values are not known when a pipeline is applied", err)
	}
	if caps, err := e.check(&executor.Spec{Image: "x", CapAdd: []string{"cap_chown", " net_raw "}}); err != nil || strings.Join(caps, ",") != "CHOWN,NET_RAW" {
		t.Errorf("check = %q, %v; want CHOWN,NET_RAW", caps, err)
	}
}
