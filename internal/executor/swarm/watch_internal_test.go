package swarm

import (
	"testing"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
)

// A watch takes from the node's events only the start and death of a
// task's container of its own attempt, each once, and only of the first
// container it saw for the task.
func TestWatchRecord(t *testing.T) {
	t.Parallel()
	w := (&Executor{}).watch("baton-a")
	msg := func(action events.Action, id, task, name string) events.Message {
		return events.Message{Action: action, Actor: events.Actor{ID: id, Attributes: map[string]string{taskLabel: task, labelName: name}}}
	}
	for i, tc := range []struct {
		m    events.Message
		news bool
	}{
		{msg(events.ActionCreate, "c1", "t1", "baton-a"), false},
		{msg(events.ActionStart, "c1", "t1", "baton-b"), false}, // another attempt's
		{msg(events.ActionStart, "c1", "", "baton-a"), false},   // no task: the output volume's
		{msg(events.ActionStart, "c1", "t1", "baton-a"), true},
		{msg(events.ActionStart, "c1", "t1", "baton-a"), false}, // replayed
		{msg(events.ActionDie, "c2", "t1", "baton-a"), false},   // not the task's container
		{msg(events.ActionDie, "c1", "t1", "baton-a"), true},
		{msg(events.ActionDie, "c1", "t1", "baton-a"), false},
	} {
		if got := w.record(tc.m); got != tc.news {
			t.Errorf("event %d (%s of %s): news = %v, want %v", i, tc.m.Action, tc.m.Actor.ID, got, tc.news)
		}
	}
	c := w.seen(&swarm.Task{ID: "t1"})
	if c == nil || c.id != "c1" || !c.started || !c.died {
		t.Errorf("seen = %+v, want c1 started and died", c)
	}
	if w.seen(&swarm.Task{ID: "t2"}) != nil || w.seen(nil) != nil {
		t.Error("seen reports a container for a task no event named")
	}
}
