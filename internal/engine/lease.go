package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// DefaultLease is how long a server holds a run it does not renew, when
// [Config.Lease] is 0: after a server dies, another takes its runs over
// within about this long.
const DefaultLease = 15 * time.Second

// claimBatch is the most runs one server claims at a time from those whose
// server died, so that the live servers share them.
const claimBatch = 16

// errLeaseLost stops a runner whose run another server claimed: like a
// shutdown, it leaves everything as stored, for the new owner.
var errLeaseLost = fmt.Errorf("%w: another server drives the run now", errShutdown)

// newServerID names this server in the leases it holds: host, process and
// a random part, so that a restarted server is a new owner.
func newServerID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ServerID returns the name this engine holds run leases under.
func (e *Engine) ServerID() string { return e.cfg.ServerID }

// claim takes the runs this engine may drive, at most limit (0: all): every
// unfinished one when it alone opens the store, else those made for its
// executors whose server's lease ended. ids, when given, bound the claim.
func (e *Engine) claim(ctx context.Context, limit int, ids ...string) ([]*store.RunRow, error) {
	now := e.cfg.Now()
	p := &store.RunClaimParams{
		Owner: e.cfg.ServerID, Now: now, Until: now.Add(e.cfg.Lease),
		Limit: limit, Steal: !e.cfg.Shared, IDs: ids,
	}
	if e.cfg.Shared {
		// Alone, it takes every run, to say on those it cannot drive why
		// they wait (see adopt); shared, it leaves them to servers that can.
		p.Executors = e.names
	}
	runs, err := e.cfg.Store.RunClaim(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("engine: claim runs: %w", err)
	}
	return runs, nil
}

// drive starts a runner for each claimed run: running ones first, so they
// hold their places in their pipelines' gates; then queued ones, oldest
// first, so they keep their turn. A run this engine cannot drive (its
// pipeline or an executor it names is missing here) is given back, for a
// server that can.
func (e *Engine) drive(ctx context.Context, runs []*store.RunRow) error {
	slices.SortStableFunc(runs, func(a, b *store.RunRow) int {
		if (a.Status == store.RunRunning) != (b.Status == store.RunRunning) {
			if a.Status == store.RunRunning {
				return -1
			}
			return 1
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	var giveBack []string
	defer func() {
		if len(giveBack) == 0 {
			return
		}
		err := e.cfg.Store.LeaseRelease(context.WithoutCancel(ctx), &store.LeaseReleaseParams{Owner: e.cfg.ServerID, RunIDs: giveBack})
		if err != nil {
			e.log.Warn("give back runs this server cannot drive", "runs", len(giveBack), "err", err)
		}
	}()
	for _, run := range runs {
		if !e.adopt(ctx, run, nil) {
			giveBack = append(giveBack, run.ID)
			continue // another executor's run: see adopt
		}
		spec, _, err := e.Spec(ctx, run.Pipeline, run.Revision)
		if err != nil {
			giveBack = append(giveBack, run.ID)
			return err
		}
		if !e.adopt(ctx, run, spec) {
			giveBack = append(giveBack, run.ID)
			continue // a step of it runs on an executor this server lacks
		}
		if err := e.start(run, spec, false); err != nil {
			return err
		}
	}
	return nil
}

// beat starts the lease heartbeat, the janitor and the signals from
// other servers, once: with the first run driven, or at [Engine.Resume], as a server on a
// shared store claims the runs of dead ones even when it has none.
func (e *Engine) beat() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.beatLocked()
}

// beatLocked is beat with e.mu held.
func (e *Engine) beatLocked() {
	if e.ctx.Err() != nil {
		return
	}
	e.beating.Do(func() {
		e.wg.Add(2)
		go e.heartbeat()
		go e.janitor()
		if e.cfg.Signals != nil {
			e.wg.Add(1)
			go e.listen()
		}
	})
}

// heartbeat renews this engine's leases every third of a lease, stops
// driving the runs another server claimed meanwhile, acts on cancels
// stored by other servers, and, on a shared store, claims the runs of
// servers whose leases ended. It runs until the engine stops.
func (e *Engine) heartbeat() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		e.renew(e.ctx)
		if !e.cfg.Shared {
			continue
		}
		runs, err := e.claim(e.ctx, claimBatch)
		if err != nil {
			if e.ctx.Err() == nil {
				e.log.Warn("claim the runs of servers that stopped", "err", err)
			}
			continue
		}
		if len(runs) > 0 {
			e.log.Info("taking over runs whose server stopped renewing them", "runs", len(runs))
		}
		if err := e.drive(e.ctx, runs); err != nil && e.ctx.Err() == nil {
			e.log.Error("take over runs", "err", err)
		}
	}
}

// renew extends the leases of the runs this engine holds, and stops the
// runners of those it no longer holds.
func (e *Engine) renew(ctx context.Context) {
	held, err := e.cfg.Store.LeaseRenew(ctx, &store.LeaseRenewParams{Owner: e.cfg.ServerID, Until: e.cfg.Now().Add(e.cfg.Lease)})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("renew run leases", "err", err)
		}
		return // fencing keeps the store right if they end meanwhile
	}
	byID := make(map[string]store.LeaseHeld, len(held))
	for _, h := range held {
		byID[h.RunID] = h
	}
	var unsure []*runner
	e.mu.Lock()
	for id, r := range e.runs {
		h, ok := byID[id]
		switch {
		case !ok:
			unsure = append(unsure, r) // maybe created after the renewal read
		case h.Epoch != r.run.Lease.Epoch:
			r.cancel(errLeaseLost)
		case h.CancelRequested:
			r.cancel(errCanceled) // stored by another server
		}
	}
	e.mu.Unlock()
	for _, r := range unsure {
		run, err := e.cfg.Store.RunGet(ctx, r.run.ID)
		if err != nil {
			continue
		}
		if !run.Status.Terminal() && (run.Lease.Owner != e.cfg.ServerID || run.Lease.Epoch != r.run.Lease.Epoch) {
			r.cancel(errLeaseLost)
		}
	}
}

// fenced stops driving a run whose write the store refused because
// another server claimed it.
func (e *Engine) fenced(runID string, err error) error {
	if errors.Is(err, store.ErrFenced) {
		e.mu.Lock()
		r, ok := e.runs[runID]
		e.mu.Unlock()
		if ok {
			e.log.Warn("another server claimed the run; leaving it to that server", "run_id", runID)
			r.cancel(errLeaseLost)
		}
	}
	return err
}

// release gives up the leases of the runs this engine drove, at shutdown,
// so that another server takes them over at once.
func (e *Engine) release(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := e.cfg.Store.LeaseRelease(ctx, &store.LeaseReleaseParams{Owner: e.cfg.ServerID, RunIDs: ids}); err != nil {
		e.log.Warn("give up run leases at shutdown", "err", err)
	}
}
