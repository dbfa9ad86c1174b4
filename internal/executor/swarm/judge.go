package swarm

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// outcome is what a look at an attempt's service and tasks says.
type outcome int

const (
	// waiting: the task has not ended yet.
	waiting outcome = iota
	// exited: the task's command ran and its container exited; the
	// result is read from the node.
	exited
	// neverStarted: the attempt was stopped before its container ran.
	neverStarted
	// failedToStart: the swarm could not start the task's command (no
	// such image, no such user, a bad mount…).
	failedToStart
	// lost: the swarm ended or is ending the task without baton asking,
	// as when its node was drained, went down or left the swarm.
	lost
	// unscheduled: the task did not start running in time.
	unscheduled
)

type verdict struct {
	outcome outcome
	// task is the attempt's task, when there is one.
	task *swarm.Task
	// why says what went wrong, for failedToStart, lost and unscheduled.
	why string
}

// exitPrefix starts the task error with which a swarm node reports a
// container whose command ran and exited non-zero.
const exitPrefix = "task: non-zero exit ("

// judge reads an attempt's state from its service and tasks. The service
// has one replica and is never restarted, so its first task is the
// attempt; any later one is the swarm rerunning the command on its own,
// which baton does not allow.
func judge(svc swarm.Service, tasks []swarm.Task, now time.Time, scheduleTimeout time.Duration) verdict {
	stopped := svc.Spec.Labels[labelStopped] != ""
	late := now.Sub(svc.CreatedAt) > scheduleTimeout
	if len(tasks) == 0 {
		switch {
		case stopped:
			return verdict{outcome: neverStarted}
		case late:
			return verdict{outcome: unscheduled, why: fmt.Sprintf("the swarm made no task for the service within %s", scheduleTimeout)}
		}
		return verdict{outcome: waiting}
	}
	tasks = slices.Clone(tasks)
	slices.SortFunc(tasks, func(a, b swarm.Task) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	t := &tasks[0]
	st := t.Status
	ran := st.ContainerStatus != nil && st.ContainerStatus.ContainerID != ""
	v := verdict{task: t}
	switch st.State {
	case swarm.TaskStateComplete:
		v.outcome = exited
		return v
	case swarm.TaskStateFailed:
		if ran && strings.HasPrefix(st.Err, exitPrefix) {
			v.outcome = exited
			return v
		}
		v.outcome, v.why = failedToStart, "the task failed before its command ran: "+taskMessage(st)
		return v
	case swarm.TaskStateRejected:
		v.outcome, v.why = failedToStart, "the node rejected the task: "+taskMessage(st)
		return v
	case swarm.TaskStateShutdown, swarm.TaskStateOrphaned, swarm.TaskStateRemove:
		switch {
		case stopped && ran:
			v.outcome = exited // the container says whether it ever started
		case stopped:
			v.outcome = neverStarted
		default:
			v.outcome, v.why = lost, fmt.Sprintf("the swarm ended the task (%s) on node %s without baton asking: %s", st.State, t.NodeID, taskMessage(st))
		}
		return v
	}
	switch {
	case len(tasks) > 1:
		v.outcome, v.why = lost, "the swarm started the command again in a new task on its own"
	case rank(t.DesiredState) > rank(swarm.TaskStateRunning) && !stopped:
		v.outcome, v.why = lost, fmt.Sprintf("the swarm is shutting the task down on node %s (the node was drained, went down or left the swarm)", t.NodeID)
	case rank(st.State) < rank(swarm.TaskStateRunning) && !stopped && late:
		v.outcome, v.why = unscheduled, fmt.Sprintf("the task was not running after %s: it is %s: %s", scheduleTimeout, st.State, taskMessage(st))
	}
	return v
}

// taskMessage is the swarm's word on a task's state.
func taskMessage(st swarm.TaskStatus) string {
	switch {
	case st.Err != "" && st.Message != "":
		return st.Err + " (" + st.Message + ")"
	case st.Err != "":
		return st.Err
	case st.Message != "":
		return st.Message
	}
	return "no reason given"
}

// taskStates are swarm's task states in the order a task goes through them.
var taskStates = []swarm.TaskState{
	swarm.TaskStateNew, swarm.TaskStateAllocated, swarm.TaskStatePending,
	swarm.TaskStateAssigned, swarm.TaskStateAccepted, swarm.TaskStatePreparing,
	swarm.TaskStateReady, swarm.TaskStateStarting, swarm.TaskStateRunning,
	swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed,
	swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned,
}

// rank orders task states; an unknown state ranks after all.
func rank(s swarm.TaskState) int {
	if i := slices.Index(taskStates, s); i >= 0 {
		return i
	}
	return len(taskStates)
}
