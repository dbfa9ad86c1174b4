package engine

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// gate admits the runs of one pipeline: at most limit at once (0: no limit),
// and a serial run only when no other is running. Runs that cannot start yet
// wait in the order they arrived, staying queued.
type gate struct {
	mu      sync.Mutex
	active  int
	waiters []*waiter
	// queued counts the runs waiting, across every gate.
	queued prometheus.Gauge
}

type waiter struct {
	limit  int
	serial bool
	ready  chan struct{}
}

func (g *gate) admits(w *waiter) bool {
	return (w.limit <= 0 || g.active < w.limit) && (!w.serial || g.active == 0)
}

// enter takes a place at once, as a run that was already running when baton
// restarted does.
func (g *gate) enter() {
	g.mu.Lock()
	g.active++
	g.mu.Unlock()
}

// acquire waits for a place. It returns ctx's error if ctx ends first.
func (g *gate) acquire(ctx context.Context, limit int, serial bool) error {
	w := &waiter{limit: limit, serial: serial, ready: make(chan struct{})}
	g.mu.Lock()
	if len(g.waiters) == 0 && g.admits(w) {
		g.active++
		g.mu.Unlock()
		return nil
	}
	g.waiters = append(g.waiters, w)
	g.queued.Inc()
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, x := range g.waiters {
			if x == w {
				g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
				g.queued.Dec()
				g.wake()
				return ctx.Err()
			}
		}
		// Admitted just as ctx ended: give the place back.
		g.active--
		g.wake()
		return ctx.Err()
	}
}

// release gives a place back and admits who waits next.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.active--
	g.wake()
}

// wake admits waiters from the front while they fit. g.mu is held.
func (g *gate) wake() {
	for len(g.waiters) > 0 && g.admits(g.waiters[0]) {
		g.active++
		g.queued.Dec()
		close(g.waiters[0].ready)
		g.waiters = g.waiters[1:]
	}
}

// gateOf returns the gate of a pipeline.
func (e *Engine) gateOf(pipeline string) *gate {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.gates[pipeline]
	if !ok {
		g = &gate{queued: e.cfg.Metrics.RunsQueued}
		e.gates[pipeline] = g
	}
	return g
}
