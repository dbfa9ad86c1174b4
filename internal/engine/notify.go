package engine

import "sync"

// changes wakes everyone watching a run when something about it changed. It is
// a broadcast without a payload: watchers re-read the store, so a burst of
// changes costs them one read and nothing can be dropped.
//
// When the store is shared, a change is also told to the other servers
// (out), and what they tell arrives through wake.
type changes struct {
	mu  sync.Mutex
	ch  map[string]chan struct{}
	out func(runID string)
}

func newChanges() *changes { return &changes{ch: make(map[string]chan struct{})} }

// watch returns a channel that is closed at the next change of runID.
func (c *changes) watch(runID string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.ch[runID]
	if !ok {
		ch = make(chan struct{})
		c.ch[runID] = ch
	}
	return ch
}

// signal wakes the watchers of runID, here and on the other servers.
func (c *changes) signal(runID string) {
	c.wake(runID)
	c.mu.Lock()
	out := c.out
	c.mu.Unlock()
	if out != nil {
		out(runID)
	}
}

// anyRun is the key under which [changes.watch] wakes at a change of any
// run: a gate shared by the servers may have room then.
const anyRun = ""

// wake wakes the watchers of runID on this server, and those of any run.
func (c *changes) wake(runID string) {
	c.mu.Lock()
	var woken []chan struct{}
	for _, id := range []string{runID, anyRun} {
		if ch, ok := c.ch[id]; ok {
			woken = append(woken, ch)
			delete(c.ch, id)
		}
	}
	c.mu.Unlock()
	for _, ch := range woken {
		close(ch)
	}
}
