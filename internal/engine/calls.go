package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/store"
)

// callTimeout bounds an executor call that has no deadline of its own, such
// as a removal or a listing: a hung engine must not hold a run, or a
// restart, forever.
const callTimeout = 2 * time.Minute

// stopSlack is how long, beyond the stop grace, a stopped attempt's
// executor may take to report its end before the engine stops waiting.
const stopSlack = 30 * time.Second

// owner returns the executor that made h: the one of this engine's that
// has the registry name the handle holds. Only it may wait for, stop or
// remove what h names: a container step must never be finished, or marked
// removed, by the process executor.
func (e *Engine) owner(h *executor.Handle) (executor.Executor, error) {
	if x, ok := e.execs[h.Executor]; ok {
		return x, nil
	}
	return nil, fmt.Errorf("left in place: it was made by executor %q and this server has no executor of that name (it has %s), so it may not stop or remove it; start a server with executor %s on this data to finish it",
		h.Executor, e.quotedNames(), h.Executor)
}

// checkOwner is [Engine.owner] for callers that need only the verdict.
func (e *Engine) checkOwner(h *executor.Handle) error {
	_, err := e.owner(h)
	return err
}

// quotedNames lists the engine's executors for messages: "a", "b".
func (e *Engine) quotedNames() string {
	q := make([]string, len(e.names))
	for i, n := range e.names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// native returns h as x knows it. Handles are stored with the executor's
// registry name, which an executor need not know: it made the handle with
// its own [executor.Executor.Name].
func native(h *executor.Handle, x executor.Executor) *executor.Handle {
	if h.Executor == x.Name() {
		return h
	}
	c := *h
	c.Executor = x.Name()
	return &c
}

// named returns h as the engine stores it: with the registry name of the
// executor that made it.
func named(h *executor.Handle, name string) *executor.Handle {
	if h == nil || h.Executor == name {
		return h
	}
	c := *h
	c.Executor = name
	return &c
}

// remove removes what h names, with a deadline, through the executor that
// made it.
func (e *Engine) remove(ctx context.Context, h *executor.Handle) error {
	x, err := e.owner(h)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return x.Remove(ctx, native(h, x))
}

// listOwned lists what the executor named name holds, with a deadline,
// its handles named as the engine stores them; ok is false when it cannot
// list.
func (e *Engine) listOwned(ctx context.Context, name string) (owned []executor.Owned, ok bool, err error) {
	l, ok := e.execs[name].(executor.Lister)
	if !ok {
		return nil, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	owned, err = l.ListOwned(ctx)
	for i := range owned {
		owned[i].Handle = named(owned[i].Handle, name)
	}
	return owned, true, err
}

// madeBy reports whether what the executor named name listed for an
// attempt is the attempt's: two executors of one engine (two names for
// one Docker engine, say) list the same containers, and only the one the
// attempt ran on may act on them. An attempt that does not record its
// executor, or is not stored at all, is taken to be the lister's.
func madeBy(a *store.AttemptRow, name string) bool {
	return a == nil || a.Executor == "" || a.Executor == name
}
