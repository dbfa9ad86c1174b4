package engine

import (
	"context"
	"errors"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// Bounds of the wait between two tries of a store write that failed.
const (
	storeRetryFirst = 100 * time.Millisecond
	storeRetryMax   = 10 * time.Second
)

// durable is the store as the engine's runs write to it. A write the store
// could not make for now ([store.ErrUnavailable]: a full disk, an I/O error)
// is tried again with backoff until it is made or the engine stops, each
// failure logged and counted: a passing fault delays a run, it does not leave
// it half-recorded. Other errors (a conflict, a missing row) are answers and
// come back at once.
//
// Calls made for a client (creating a run, a cancel request) are not
// retried: the client hears of the failure and may try again.
type durable struct {
	store.Store
	e *Engine
}

// retry runs write until it succeeds, fails for another reason, or ctx or
// the engine ends; then it returns the last error.
func (d *durable) retry(ctx context.Context, op string, write func() error) error {
	delay := storeRetryFirst
	for try := 1; ; try++ {
		err := write()
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			if err == nil && try > 1 {
				d.e.log.Info("store write went through after failing", "op", op, "tries", try)
			}
			return err
		}
		d.e.cfg.Metrics.StoreWriteFailures.WithLabelValues(op).Inc()
		d.e.log.Error("store write failed; trying again", "op", op, "try", try, "retry_in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		case <-d.e.ctx.Done():
			t.Stop()
			return err
		}
		delay = min(2*delay, storeRetryMax)
	}
}

func (d *durable) RunSetStatus(ctx context.Context, p *store.RunSetStatusParams) error {
	return d.e.fenced(p.ID, d.retry(ctx, "run_set_status", func() error { return d.Store.RunSetStatus(ctx, p) }))
}

func (d *durable) StepStart(ctx context.Context, p *store.StepStartParams) error {
	return d.e.fenced(p.RunID, d.retry(ctx, "step_start", func() error { return d.Store.StepStart(ctx, p) }))
}

func (d *durable) StepSetHandle(ctx context.Context, p *store.StepSetHandleParams) error {
	return d.e.fenced(p.RunID, d.retry(ctx, "step_set_handle", func() error { return d.Store.StepSetHandle(ctx, p) }))
}

func (d *durable) StepFinish(ctx context.Context, p *store.StepFinishParams) error {
	return d.e.fenced(p.RunID, d.retry(ctx, "step_finish", func() error { return d.Store.StepFinish(ctx, p) }))
}

func (d *durable) StepSetCleanup(ctx context.Context, p *store.StepSetCleanupParams) error {
	return d.e.fenced(p.RunID, d.retry(ctx, "step_set_cleanup", func() error { return d.Store.StepSetCleanup(ctx, p) }))
}

func (d *durable) AttemptSetImage(ctx context.Context, runID, step string, attempt int, digest string) error {
	return d.retry(ctx, "attempt_set_image", func() error { return d.Store.AttemptSetImage(ctx, runID, step, attempt, digest) })
}

func (d *durable) LogAppend(ctx context.Context, p *store.LogAppendParams) error {
	return d.e.fenced(p.RunID, d.retry(ctx, "log_append", func() error { return d.Store.LogAppend(ctx, p) }))
}

func (d *durable) StepExpand(ctx context.Context, p *store.StepExpandParams) error {
	return d.e.fenced(p.RunID, d.retry(ctx, "step_expand", func() error { return d.Store.StepExpand(ctx, p) }))
}
