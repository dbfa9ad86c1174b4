package engine

import (
	"context"
	"errors"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// fleetPoll is how often a run or attempt waiting for room in a gate the
// servers share tries again when no change woke it: a change on another
// server comes as a signal, when there are signals.
const fleetPoll = time.Second

// waitRoom blocks until some run changed, here or (by signal) on another
// server, or fleetPoll passed; false when ctx ended first.
func (r *runner) waitRoom(changed <-chan struct{}) bool {
	t := time.NewTimer(fleetPoll)
	defer t.Stop()
	select {
	case <-changed:
	case <-t.C:
	case <-r.ctx.Done():
		return false
	}
	return true
}

// admitShared moves the queued run to running through its pipeline's gate
// as the store keeps it for every server ([store.Gate]): the pipeline's
// concurrency and a serial run's turn hold across the fleet. It waits while
// the gate is full.
func (r *runner) admitShared(ctx context.Context) error {
	var gate *store.Gate
	if r.spec.Concurrency > 0 || r.serial {
		gate = &store.Gate{Limit: r.spec.Concurrency, Serial: r.serial}
	}
	waiting := false
	defer func() {
		if waiting {
			r.e.cfg.Metrics.RunsQueued.Dec()
		}
	}()
	for {
		changed := r.e.changes.watch(anyRun)
		err := r.e.st.RunSetStatus(ctx, &store.RunSetStatusParams{Epoch: r.run.Lease.Epoch, ID: r.run.ID, Status: store.RunRunning, Now: r.e.cfg.Now(), Gate: gate})
		if !errors.Is(err, store.ErrBusy) {
			return err
		}
		if !waiting {
			waiting = true
			r.e.cfg.Metrics.RunsQueued.Inc()
		}
		if !r.waitRoom(changed) {
			return context.Cause(r.ctx)
		}
	}
}

// stepStartShared records an attempt's start once fewer attempts than
// [Config.MaxParallel] run on all the servers together, waiting while as
// many run.
func (r *runner) stepStartShared(ctx context.Context, p *store.StepStartParams) error {
	p.MaxRunning = r.e.cfg.MaxParallel
	waiting := false
	defer func() {
		if waiting {
			r.e.cfg.Metrics.StepsWaiting.Dec()
		}
	}()
	for {
		changed := r.e.changes.watch(anyRun)
		p.Now = r.e.cfg.Now() // it starts when it gets its place
		err := r.e.st.StepStart(ctx, p)
		if !errors.Is(err, store.ErrBusy) {
			return err
		}
		if !waiting {
			waiting = true
			r.e.cfg.Metrics.StepsWaiting.Inc()
		}
		if !r.waitRoom(changed) {
			return context.Cause(r.ctx)
		}
	}
}
