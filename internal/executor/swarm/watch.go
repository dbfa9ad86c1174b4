package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// Polling intervals of a [taskWatch]: from firstPoll, doubling up to
// maxPoll, and from firstPoll again after every event of the task's
// container.
const (
	firstPoll = 50 * time.Millisecond
	maxPoll   = time.Second
)

// eventsReplay is how far before its service's creation a watch asks a
// node's engine to replay events from: the engine's clock and the
// manager's may disagree, and replaying an event of the attempt twice is
// harmless.
const eventsReplay = time.Minute

// taskLabel is the label the swarm gives a task's container: the task's ID.
const taskLabel = "com.docker.swarm.task.id"

// taskWatch tells whoever waits on an attempt's task when to look again.
// The Engine API has no events for task states, but the engine of the
// node a task is assigned to reports its container's start and death at
// once; the manager learns of them some 100 ms later. So a watch follows
// those events from the task's node, remembers what they said, and
// otherwise has the caller poll the manager, backing off, for what no
// container event shows (a task the node rejects, a node that goes away).
//
// A watch is used by one goroutine. The events it follows are replayed
// from before the service was created, so none is missed between two
// looks.
type taskWatch struct {
	e    *Executor
	name string // the attempt's

	// node is the node whose events are followed, "" before.
	node   string
	msgs   <-chan events.Message
	errs   <-chan error
	cancel context.CancelFunc
	delay  time.Duration

	// byTask is what the events said of each task's container.
	byTask map[string]*containerSeen
}

// containerSeen is what the events of a node said of a task's container.
type containerSeen struct {
	id      string
	started bool // its command was started
	died    bool // it exited, or failed to start
}

func (e *Executor) watch(name string) *taskWatch {
	return &taskWatch{e: e, name: name, delay: firstPoll, byTask: map[string]*containerSeen{}}
}

// close stops following events.
func (w *taskWatch) close() {
	if w.cancel != nil {
		w.cancel()
	}
}

// seen is what the events said of task t's container, nil if nothing.
func (w *taskWatch) seen(t *swarm.Task) *containerSeen {
	if t == nil {
		return nil
	}
	return w.byTask[t.ID]
}

// next returns when the caller should look at the task again: after an
// event of its container, or after the poll interval. Once t is assigned
// to a node whose engine baton reaches, that node's events are followed.
func (w *taskWatch) next(ctx context.Context, svc swarm.Service, t *swarm.Task) error {
	if w.node == "" && t != nil && t.NodeID != "" {
		w.follow(ctx, svc, t.NodeID)
	}
	timer := time.NewTimer(w.delay)
	defer timer.Stop()
	for {
		select {
		case m := <-w.msgs:
			if w.record(m) {
				w.delay = firstPoll
				return nil
			}
		case err := <-w.errs:
			// Polling alone still sees everything, later.
			w.msgs, w.errs = nil, nil
			if ctx.Err() == nil {
				w.e.logger.Debug("swarm: events of the task's node ended; polling only", "service", w.name, "node", w.node, "err", err)
			}
		case <-timer.C:
			w.delay = min(w.delay*2, maxPoll)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// follow starts following the container events of the attempt on node.
func (w *taskWatch) follow(ctx context.Context, svc swarm.Service, node string) {
	cli := w.e.nodes.engine(ctx, node)
	if cli == nil {
		return // the caller finds out when it needs the engine
	}
	w.node = node
	since := svc.CreatedAt.Add(-eventsReplay)
	ectx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	w.msgs, w.errs = cli.Events(ectx, events.ListOptions{
		Since: fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Filters: filters.NewArgs(
			filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("label", labelName+"="+w.name),
			filters.Arg("event", string(events.ActionStart)),
			filters.Arg("event", string(events.ActionDie)),
		),
	})
}

// record notes what an event says of a task's container, and reports
// whether it was news.
func (w *taskWatch) record(m events.Message) bool {
	task := m.Actor.Attributes[taskLabel]
	if task == "" || m.Actor.ID == "" || m.Actor.Attributes[labelName] != w.name {
		return false
	}
	c := w.byTask[task]
	if c == nil {
		c = &containerSeen{id: m.Actor.ID}
		w.byTask[task] = c
	}
	if c.id != m.Actor.ID {
		return false
	}
	switch m.Action {
	case events.ActionStart:
		if c.started {
			return false
		}
		c.started = true
	case events.ActionDie:
		if c.died {
			return false
		}
		c.died = true
	default:
		return false
	}
	return true
}
