package engine

import (
	"time"
)

// Bounds of the wait between two passes of the janitor over removals that
// failed: each pass that leaves one failing doubles it, one that leaves
// none resets it.
const (
	janitorFirst = 30 * time.Second
	janitorMax   = 10 * time.Minute
)

// janitor tries again, until they succeed, the removals an attempt's own
// cleanup gave up on (see [runner.cleanup]): an engine that cannot delete
// a container, a swarm service or a container group now keeps trying, with
// backoff, every try counted on the attempt and in the cleanup failure
// metric. It runs until the engine stops.
func (e *Engine) janitor() {
	defer e.wg.Done()
	first := e.cfg.CleanupRetry
	if first <= 0 {
		first = janitorFirst
	}
	delay := first
	for {
		t := time.NewTimer(delay)
		select {
		case <-e.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		failing, err := e.retryRemovals(e.ctx)
		if err != nil && e.ctx.Err() == nil {
			e.log.Warn("try failed removals again", "err", err)
		}
		if failing > 0 {
			delay = min(2*delay, max(janitorMax, first))
		} else {
			delay = first
		}
	}
}
