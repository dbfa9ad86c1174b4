package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// outbox gathers the runs that changed here, to tell the other servers in
// batches: a burst of changes to one run is one signal, and a slow store
// delays signals without slowing the runs.
type outbox struct {
	mu      sync.Mutex
	pending map[string]bool
	poke    chan struct{}
}

func newOutbox() *outbox {
	return &outbox{pending: make(map[string]bool), poke: make(chan struct{}, 1)}
}

func (o *outbox) add(runID string) {
	o.mu.Lock()
	o.pending[runID] = true
	o.mu.Unlock()
	select {
	case o.poke <- struct{}{}:
	default:
	}
}

func (o *outbox) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := make([]string, 0, len(o.pending))
	for id := range o.pending {
		ids = append(ids, id)
	}
	clear(o.pending)
	return ids
}

// listen starts the engine's cross-server signals: it sends what changed
// here and acts on what the others send, until the engine stops.
func (e *Engine) listen() {
	defer e.wg.Done()
	box := newOutbox()
	e.changes.mu.Lock()
	e.changes.out = box.add
	e.changes.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			select {
			case <-e.ctx.Done():
				return
			case <-box.poke:
			}
			for _, id := range box.take() {
				err := e.cfg.Signals.Signal(e.ctx, store.Signal{Kind: store.SignalChanged, RunID: id})
				if err != nil && e.ctx.Err() == nil {
					e.log.Warn("tell other servers a run changed", "run_id", id, "err", err)
				}
			}
		}
	}()
	for e.ctx.Err() == nil {
		err := e.cfg.Signals.Listen(e.ctx, e.heard)
		if err == nil || errors.Is(err, context.Canceled) || e.ctx.Err() != nil {
			return
		}
		e.log.Warn("listen for other servers' signals; trying again", "err", err)
		select {
		case <-e.ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// heard acts on a signal from another server (or this one: a server hears
// its own, harmlessly).
func (e *Engine) heard(s store.Signal) {
	switch s.Kind {
	case store.SignalChanged:
		e.changes.wake(s.RunID)
	case store.SignalCancel:
		e.mu.Lock()
		r, ok := e.runs[s.RunID]
		e.mu.Unlock()
		if ok {
			r.cancel(errCanceled)
		}
	}
}

// signal tells the other servers about a run at once, if they can hear.
func (e *Engine) signal(ctx context.Context, kind store.SignalKind, runID string) {
	if e.cfg.Signals == nil {
		return
	}
	if err := e.cfg.Signals.Signal(ctx, store.Signal{Kind: kind, RunID: runID}); err != nil {
		e.log.Warn("tell other servers about a run", "run_id", runID, "signal", kind, "err", err)
	}
}

// waitChange waits for changed to close, or ctx to end (false). When
// another server may drive the run and no signals tell of its changes, it
// returns after fleetPoll too, for the caller to look again.
func (e *Engine) waitChange(ctx context.Context, runID string, changed <-chan struct{}) bool {
	var poll <-chan time.Time
	if e.cfg.Shared && e.cfg.Signals == nil && !e.drives(runID) {
		t := time.NewTimer(fleetPoll)
		defer t.Stop()
		poll = t.C
	}
	select {
	case <-changed:
	case <-poll:
	case <-ctx.Done():
		return false
	}
	return true
}
