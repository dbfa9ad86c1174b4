package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

// callTimeout bounds an executor call that has no deadline of its own, such
// as a removal or a listing: a hung engine must not hold a run, or a
// restart, forever.
const callTimeout = 2 * time.Minute

// stopSlack is how long, beyond the stop grace, a stopped attempt's
// executor may take to report its end before the engine stops waiting.
const stopSlack = 30 * time.Second

// checkOwner refuses a handle another executor made: only the executor that
// made a handle may wait for, stop or remove what it names. A container
// step must never be finished, or marked removed, by the process executor.
func (e *Engine) checkOwner(h *executor.Handle) error {
	if h.Executor == e.exec.Name() {
		return nil
	}
	return fmt.Errorf("left in place: it was made by executor %q and this server runs executor %q, which may not stop or remove it; start a server with --executor %s on this data to finish it",
		h.Executor, e.exec.Name(), h.Executor)
}

// remove removes what h names, with a deadline, if this engine's executor
// made it.
func (e *Engine) remove(ctx context.Context, h *executor.Handle) error {
	if err := e.checkOwner(h); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return e.exec.Remove(ctx, h)
}

// listOwned lists what the executor holds, with a deadline; ok is false
// when it cannot list.
func (e *Engine) listOwned(ctx context.Context) (owned []executor.Owned, ok bool, err error) {
	l, ok := e.exec.(executor.Lister)
	if !ok {
		return nil, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	owned, err = l.ListOwned(ctx)
	return owned, true, err
}
