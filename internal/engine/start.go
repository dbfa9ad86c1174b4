package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// errStartTimeout ends the start of an attempt that outlived its step's
// timeout.
var errStartTimeout = errors.New("step timed out while starting")

// start launches an attempt. Starting may take long (an image pull) or hang
// (a registry that never answers), so it ends when the step's timeout,
// counted from the attempt's start, passes, or when the run ends or the
// engine shuts down; the error then wraps why.
//
// The attempt runs on the executor named exec; the handle it returns holds
// that name, the one the engine stores it with.
func (r *runner) start(st *pipeline.Step, exec string, spec *executor.Spec, startedAt time.Time) (*executor.Handle, error) {
	x, ok := r.e.execs[exec]
	if !ok {
		// adopt and create keep such runs from being driven here.
		return nil, fmt.Errorf("this server has no executor %q (it has %s)", exec, r.e.quotedNames())
	}
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	if st.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, max(st.Timeout-r.e.cfg.Now().Sub(startedAt), 0), errStartTimeout)
		defer stop()
	}
	h, err := x.Start(ctx, spec)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	return named(h, exec), err
}

// startFailed is how an attempt whose start failed ends. Whatever the start
// created is removed with the attempt, found by its labels when the
// executor gave up before it could say.
func (r *runner) startFailed(st *pipeline.Step, exec string, n int, h *executor.Handle, err error) outcome {
	ctx := context.WithoutCancel(r.ctx)
	o := outcome{
		status: store.StepFailed, attempt: n, err: fmt.Sprintf("start: %v", err),
		retryable: !errors.Is(err, executor.ErrImageNotFound), handle: h,
	}
	cause := context.Cause(r.ctx)
	switch {
	case r.ctx.Err() == nil && errors.Is(err, errStartTimeout):
		o.err = fmt.Sprintf("timed out after %s while starting", st.Timeout)
	case r.ctx.Err() == nil:
		// The executor's own failure.
	case errors.Is(cause, errShutdown):
		// Leave the attempt as stored; the next life re-attaches to what
		// the start created, or starts it afresh.
		if h != nil {
			raw, _ := json.Marshal(h)
			_ = r.e.st.StepSetHandle(ctx, &store.StepSetHandleParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: st.Name, Attempt: n, Handle: raw})
		}
		return outcome{}
	case errors.Is(cause, errCanceled):
		o.status, o.err, o.retryable = store.StepCanceled, cause.Error(), false
	default: // the run timed out
		o.err, o.retryable = cause.Error()+" while the step was starting", false
	}
	if o.handle == nil && (r.ctx.Err() != nil || errors.Is(err, errStartTimeout)) {
		o.handle = r.e.findHandle(ctx, exec, r.run.ID, st.Name, n)
	}
	if o.handle != nil {
		o.rawHandle, _ = json.Marshal(o.handle)
	}
	return o
}
