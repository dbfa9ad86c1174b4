package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/failpoint"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// outcome is how one attempt ended.
type outcome struct {
	// status is succeeded, failed or canceled; empty when the engine is
	// shutting down and the attempt was left running.
	status    store.StepStatus
	attempt   int // 0 when no attempt was started
	exitCode  *int
	err       string
	outputs   map[string]string
	retryable bool
	// neverRan: the attempt's command never started (baton stopped between
	// creating and starting it), so a new attempt does not count as a retry.
	neverRan bool
	handle   *executor.Handle
	// rawHandle is the stored form of handle, recorded with the attempt's end.
	rawHandle []byte
}

// runStep runs a step to its end, through every retry, and reports it.
func (r *runner) runStep(st *pipeline.Step, row *store.StepRow, outputs map[string]map[string]string) stepDone {
	if st.Approval != nil {
		return r.awaitApproval(st, outputs) // runs nothing: it waits for a person
	}
	ctx := context.WithoutCancel(r.ctx)
	attempt := row.Attempts
	resume := row.Status == store.StepRunning && attempt > 0
	free := 0 // attempts that never ran and do not count against the limit
	for {
		var o outcome
		if resume {
			resume = false
			o = r.resume(st, attempt)
		} else {
			attempt++
			o = r.attempt(st, attempt, outputs)
		}
		if o.status == "" {
			return stepDone{step: st.Name}
		}
		if o.status == store.StepSucceeded {
			if err := countVars(r.run.Vars, outputs, o.outputs); err != nil {
				o.status, o.err, o.outputs, o.retryable = store.StepFailed, err.Error(), nil, false
			}
		}
		if why, ok := r.halted.Load(st.Name); ok && o.status != store.StepSucceeded {
			o.status, o.err, o.retryable, o.neverRan = store.StepCanceled, why.(string), false, false
		}
		status := o.status
		retry := status == store.StepFailed && r.ctx.Err() == nil &&
			(o.neverRan || o.retryable && attempt-free <= st.Retry.Limit && (o.exitCode == nil || st.Retry.Retryable(*o.exitCode)))
		if o.neverRan {
			free++
		}
		if retry {
			status = store.StepRetrying
		}
		err := r.e.st.StepFinish(ctx, &store.StepFinishParams{Epoch: r.run.Lease.Epoch,
			RunID: r.run.ID, Name: st.Name, Attempt: o.attempt, Status: status,
			ExitCode: o.exitCode, Error: o.err, Outputs: o.outputs, Handle: o.rawHandle, Now: r.e.cfg.Now(),
		})
		if err != nil {
			r.e.log.Error("record attempt end", "run_id", r.run.ID, "step", st.Name, "attempt", attempt, "err", err)
			if errors.Is(err, store.ErrUnavailable) {
				return stepDone{step: st.Name} // the engine stops: its next life takes the attempt up
			}
		}
		r.e.changes.signal(r.run.ID)
		if o.attempt > 0 {
			r.observeAttempt(st.Name, o.attempt, o.status)
		}
		r.logf("attempt ended", "step", st.Name, "attempt", attempt, "status", status, "reason", o.err)
		failpoint.Hit(failpoint.BeforeRemove)
		if o.handle == nil && o.attempt > 0 {
			// Nothing was created for the attempt: there is nothing to
			// remove, and the attempt says so.
			err := r.e.st.StepSetCleanup(ctx, &store.StepSetCleanupParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: st.Name, Attempt: o.attempt, Removed: true})
			if err != nil {
				r.e.log.Error("record cleanup", "run_id", r.run.ID, "step", st.Name, "err", err)
			}
		}
		if o.handle != nil {
			// Off the critical path: the next step starts while this
			// attempt's container is removed. The run ends only after.
			h, n := o.handle, attempt
			r.cleanups.Go(func() { r.cleanup(st.Name, n, h) })
		}
		if !retry {
			return stepDone{step: st.Name, status: o.status, outputs: o.outputs, err: o.err}
		}
		delay := st.Retry.Delay(attempt - free + 1)
		if o.neverRan {
			delay = 0
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-r.ctx.Done():
			timer.Stop()
			if errors.Is(context.Cause(r.ctx), errShutdown) {
				return stepDone{step: st.Name}
			}
			why := context.Cause(r.ctx).Error()
			r.finishStepAsync(st.Name, why)
			return stepDone{step: st.Name, status: store.StepCanceled, err: why}
		}
	}
}

// finishStepAsync ends a step waiting for its next attempt.
func (r *runner) finishStepAsync(name, why string) {
	err := r.e.st.StepFinish(context.WithoutCancel(r.ctx), &store.StepFinishParams{Epoch: r.run.Lease.Epoch,
		RunID: r.run.ID, Name: name, Status: store.StepCanceled, Error: why, Now: r.e.cfg.Now(),
	})
	if err != nil {
		r.e.log.Error("record step end", "run_id", r.run.ID, "step", name, "err", err)
	}
}

// attempt starts attempt n of a step and supervises it to its end.
func (r *runner) attempt(st *pipeline.Step, n int, outputs map[string]map[string]string) outcome {
	if st.Pipeline != nil {
		return r.childAttempt(st, n, false) // a run of another pipeline, no container
	}
	ctx := context.WithoutCancel(r.ctx)
	l := r.launchedOf(st.Name)
	vars, err := stepVars(r.spec, r.run.Vars, outputs, l.specName)
	if err == nil {
		maps.Copy(vars, l.item)
	}
	if err != nil {
		return outcome{status: store.StepFailed, err: err.Error()}
	}
	if err := r.e.checkPolicy(st); err != nil {
		return outcome{status: store.StepFailed, err: err.Error()}
	}
	if r.e.slots != nil {
		r.e.cfg.Metrics.StepsWaiting.Inc()
		select {
		case r.e.slots <- struct{}{}:
			r.e.cfg.Metrics.StepsWaiting.Dec()
			defer func() { <-r.e.slots }()
		case <-r.ctx.Done():
			r.e.cfg.Metrics.StepsWaiting.Dec()
			cause := context.Cause(r.ctx)
			switch {
			case errors.Is(cause, errShutdown):
				return outcome{}
			case errors.Is(cause, errCanceled):
				return outcome{status: store.StepCanceled, err: cause.Error()}
			}
			return outcome{status: store.StepFailed, err: cause.Error()}
		}
	}
	token, hash := newToken()
	key := attemptKey{r.run.ID, st.Name, n}
	values, err := r.e.stepSecrets(ctx, st)
	if err != nil {
		return outcome{status: store.StepFailed, err: err.Error()}
	}
	// What the attempt must mask, and the secrets it is handed, are fixed
	// now, and kept sealed with it: a restarted server masks with them, and
	// a secret changed or deleted while it runs changes neither.
	started := &startState{Token: token, Secrets: values}
	sealed, err := r.e.seal(key, started)
	if err != nil {
		return outcome{status: store.StepFailed, err: err.Error()}
	}
	masker := started.masker()
	files, secretEnv := deliver(st, values)
	if o, stopped := r.stopped(); stopped {
		return o // canceled before it started: no new attempt
	}
	now := r.e.cfg.Now()
	exec := stepExecutor(st, r.run.Executor)
	startParams := &store.StepStartParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: st.Name, Attempt: n, TokenHash: hash, Now: now, Sealed: sealed, Executor: exec}
	if r.e.cfg.Shared && r.e.cfg.MaxParallel > 0 {
		err = r.stepStartShared(ctx, startParams)
		if o, stopped := r.stopped(); stopped && err != nil {
			return o // stopped while waiting for room: no new attempt
		}
	} else {
		err = r.e.st.StepStart(ctx, startParams)
	}
	if err != nil {
		return outcome{status: store.StepFailed, err: fmt.Sprintf("record attempt start: %v", err)}
	}
	r.e.changes.signal(r.run.ID)
	callback := ""
	base := r.e.cfg.CallbackURL
	if u, ok := r.e.cfg.CallbackURLs[exec]; ok {
		base = u
	}
	if base != "" {
		callback = fmt.Sprintf("%s/api/v1/callbacks/%s/%s/%d", strings.TrimRight(base, "/"), r.run.ID, st.Name, n)
	}
	r.e.maskers.Store(key, masker)
	defer r.e.maskers.Delete(key)
	env := stepEnv(r.spec, st, vars, r.run.ID, n, callback, token)
	if st.Finally {
		maps.Copy(env, r.finallyEnv())
	}
	maps.Copy(env, secretEnv)
	// What the pipeline fixes, as checked at apply, and this attempt's own.
	spec := r.e.fixedSpec(st)
	spec.RunID, spec.Attempt, spec.Env, spec.SecretEnv = r.run.ID, n, env, slices.Sorted(maps.Keys(secretEnv))
	spec.Secrets, spec.Token = files, token
	h, err := r.start(st, exec, spec, now)
	if err != nil {
		return r.startFailed(st, exec, n, h, err)
	}
	failpoint.Hit(failpoint.AttemptStarted)
	// The handle is stored while the attempt runs, without waiting: the
	// attempt's end carries it too, and whichever comes second is fenced
	// off harmlessly.
	raw, _ := json.Marshal(h)
	go func() {
		err := r.e.st.StepSetHandle(ctx, &store.StepSetHandleParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: st.Name, Attempt: n, Handle: raw})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			r.e.log.Error("record handle", "run_id", r.run.ID, "step", st.Name, "err", err)
		}
	}()
	o := r.supervise(st, n, h, now, false, time.Time{})
	o.rawHandle = raw
	return o
}

// resume re-attaches to attempt n, which a previous life of the engine
// started.
func (r *runner) resume(st *pipeline.Step, n int) outcome {
	if st.Pipeline != nil {
		return r.childAttempt(st, n, true)
	}
	ctx := context.WithoutCancel(r.ctx)
	a, err := r.e.st.AttemptGet(ctx, r.run.ID, st.Name, n)
	if err != nil {
		return outcome{status: store.StepFailed, attempt: n, err: fmt.Sprintf("re-attach: %v", err), retryable: true}
	}
	var h *executor.Handle
	if len(a.Handle) > 0 {
		h = new(executor.Handle)
		if json.Unmarshal(a.Handle, h) != nil {
			h = nil
		}
	}
	if h == nil {
		exec := a.Executor
		if exec == "" {
			exec = stepExecutor(st, r.run.Executor)
		}
		h = r.e.findHandle(ctx, exec, r.run.ID, st.Name, n)
	}
	if h == nil {
		return outcome{status: store.StepFailed, attempt: n, err: "baton stopped before the attempt was started", retryable: true, neverRan: true}
	}
	if err := r.e.checkOwner(h); err != nil {
		// Never driven here: the run's executors are this engine's, so the
		// handle is not what it seems. Its cleanup records why it stays.
		return outcome{status: store.StepFailed, attempt: n, err: "re-attach: the attempt's container was " + err.Error(), handle: h}
	}
	// The earlier life's memory is gone: the attempt is masked with what it
	// started with, kept sealed with it, and never with the secrets as they
	// are now. What cannot be masked is not logged: the attempt is stopped.
	key := attemptKey{r.run.ID, st.Name, n}
	started, err := r.e.openStart(key, a.Sealed)
	if err != nil {
		r.e.log.Error("stop a re-attached attempt that cannot be masked", "run_id", r.run.ID, "step", st.Name, "attempt", n, "err", err)
		r.stop(st.Name, h)
		return outcome{
			status: store.StepFailed, attempt: n, handle: h, retryable: true,
			err: fmt.Sprintf("stopped after baton restarted: what the attempt must mask cannot be opened (%v), and its output is never stored unmasked; if the server's secret key changed, give it the old one too (--old-secret-key-file)", err),
		}
	}
	r.logf("re-attaching", "step", st.Name, "attempt", n, "handle", h.ID)
	r.e.maskers.Store(key, started.masker())
	defer r.e.maskers.Delete(key)
	return r.supervise(st, n, h, a.StartedAt, true, r.e.lastLogTime(ctx, r.run.ID, st.Name, n))
}

// supervise waits for a started attempt, enforcing its timeout and the run's
// cancellation, archives its logs and reads its outputs.
//
// resumed says an earlier life of the engine started the attempt: outputs it
// posted may be in the store only, and its log lines up to logged are stored.
func (r *runner) supervise(st *pipeline.Step, n int, h *executor.Handle, startedAt time.Time, resumed bool, logged time.Time) outcome {
	logs := r.followLogs(st.Name, n, h, logged)
	waitCtx, stopWait := context.WithCancel(r.e.ctx)
	defer stopWait()
	type waited struct {
		res *executor.Result
		err error
	}
	waitCh := make(chan waited, 1)
	go func() {
		res, err := r.waitReconnecting(waitCtx, st.Name, h)
		waitCh <- waited{res, err}
	}()

	var timeout <-chan time.Time
	if st.Timeout > 0 {
		timer := time.NewTimer(max(st.Timeout-r.e.cfg.Now().Sub(startedAt), 0))
		defer timer.Stop()
		timeout = timer.C
	}
	ctxDone := r.ctx.Done()
	// giveUp fires once a stopped attempt's executor has had long enough
	// to report its end: a hung engine must not keep the run from ending.
	var giveUp <-chan time.Time
	stopped := func() {
		r.stop(st.Name, h)
		if giveUp == nil {
			giveUp = time.After(r.e.cfg.StopGrace + stopSlack)
		}
	}
	var why string
	var w waited
wait:
	for {
		select {
		case w = <-waitCh:
			break wait
		case <-timeout:
			timeout = nil
			why = fmt.Sprintf("timed out after %s", st.Timeout)
			stopped()
		case <-ctxDone:
			ctxDone = nil
			if errors.Is(context.Cause(r.ctx), errShutdown) {
				logs.abandon()
				return outcome{}
			}
			why = context.Cause(r.ctx).Error()
			stopped()
		case <-giveUp:
			stopWait()
			r.e.log.Warn("the executor did not report a stopped attempt's end; giving up on it", "run_id", r.run.ID, "step", st.Name, "attempt", n)
			w = waited{err: fmt.Errorf("the executor did not report the attempt's end within %s of stopping it", r.e.cfg.StopGrace+stopSlack)}
			break wait
		}
	}
	tail := logs.finish()
	failpoint.Hit(failpoint.LogsArchived)
	_, posted := r.e.posted.LoadAndDelete(attemptKey{r.run.ID, st.Name, n})

	if w.res != nil {
		r.recordImage(st.Name, n, w.res.ImageDigest)
	}
	o := outcome{status: store.StepFailed, attempt: n, handle: h, retryable: true}
	switch {
	case why != "" && r.ctx.Err() != nil && errors.Is(context.Cause(r.ctx), errCanceled):
		o.status, o.err, o.retryable = store.StepCanceled, why, false
	case why != "" && r.ctx.Err() != nil:
		o.err, o.retryable = why, false // the run timed out
	case why != "":
		o.err = why
	case errors.Is(w.err, executor.ErrNeverStarted):
		// Not run, so not counted as a try: baton stopped between creating
		// and starting it, or the engine never let it start.
		o.err, o.neverRan = fmt.Sprintf("the attempt's command never started: %v", w.err), true
	case w.err != nil:
		o.err = fmt.Sprintf("lost track of the attempt: %v", w.err)
	case w.res.ExitCode != 0:
		code := w.res.ExitCode
		o.exitCode = &code
		o.err = "exited with code " + strconv.Itoa(code)
		if w.res.OOMKilled {
			o.err += " (killed: out of memory; raise the step's memory limit)"
		}
		if tail != "" {
			o.err += "; last output: " + tail
		}
	default:
		code := 0
		o.exitCode = &code
		if w.res.OutputError != nil {
			o.outputs, o.err = nil, w.res.OutputError.Error()
		} else {
			o.outputs, o.err = r.collectOutputs(st.Name, n, w.res.Output, posted || resumed || r.e.cfg.Shared)
		}
		if o.err == "" {
			o.status = store.StepSucceeded
		} else {
			o.retryable = false
		}
	}
	return o
}

// waitReconnecting waits for the attempt; when the executor cannot be reached
// (a Docker daemon that is down or restarting) it tries again with backoff
// for up to five minutes, instead of giving up on a step that may be fine.
func (r *runner) waitReconnecting(ctx context.Context, step string, h *executor.Handle) (*executor.Result, error) {
	x, err := r.e.owner(h)
	if err != nil {
		return nil, err
	}
	h = native(h, x)
	delay, deadline := 500*time.Millisecond, time.Now().Add(5*time.Minute)
	for {
		res, err := x.Wait(ctx, h)
		if err == nil || errors.Is(err, executor.ErrNotFound) || errors.Is(err, executor.ErrNeverStarted) || errors.Is(err, executor.ErrLost) || ctx.Err() != nil || time.Now().After(deadline) {
			return res, err
		}
		r.e.log.Warn("executor unreachable; waiting to reconnect", "run_id", r.run.ID, "step", step, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, err
		}
		delay = min(delay*2, 15*time.Second)
	}
}

// recordImage stores the image an attempt ran, by digest.
func (r *runner) recordImage(step string, attempt int, digest string) {
	if digest == "" {
		return
	}
	if err := r.e.st.AttemptSetImage(context.WithoutCancel(r.ctx), r.run.ID, step, attempt, digest); err != nil {
		r.e.log.Warn("record image digest", "run_id", r.run.ID, "step", step, "err", err)
	}
}

// stop asks the attempt to end, within a deadline, through the executor
// that made it.
func (r *runner) stop(step string, h *executor.Handle) {
	x, err := r.e.owner(h)
	if err != nil {
		r.e.log.Warn("stop attempt", "run_id", r.run.ID, "step", step, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.e.cfg.StopGrace+30*time.Second)
	defer cancel()
	if err := x.Stop(ctx, native(h, x), r.e.cfg.StopGrace); err != nil {
		r.e.log.Warn("stop attempt", "run_id", r.run.ID, "step", step, "err", err)
	}
}

// cleanup removes what an attempt created, retrying with backoff, and records
// how it went: a failed removal is never silent.
func (r *runner) cleanup(step string, attempt int, h *executor.Handle) {
	ctx := context.WithoutCancel(r.ctx)
	if err := r.e.checkOwner(h); err != nil {
		// Not this engine's to remove: say so, and never mark it removed.
		r.e.log.Warn("remove attempt", "run_id", r.run.ID, "step", step, "attempt", attempt, "err", err)
		p := &store.StepSetCleanupParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: step, Attempt: attempt, Error: err.Error()}
		if err := r.e.st.StepSetCleanup(ctx, p); err != nil {
			r.e.log.Error("record cleanup", "run_id", r.run.ID, "step", step, "err", err)
		}
		return
	}
	var err error
	delay := 250 * time.Millisecond
	tries := 0
	for tries < 5 {
		tries++
		if err = r.e.remove(ctx, h); err == nil {
			break
		}
		r.e.cfg.Metrics.CleanupFailures.WithLabelValues(h.Executor).Inc()
		r.e.log.Warn("remove attempt", "run_id", r.run.ID, "step", step, "attempt", attempt, "try", tries, "err", err)
		time.Sleep(delay)
		delay *= 2
	}
	p := &store.StepSetCleanupParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: step, Attempt: attempt, Removed: err == nil, Tries: tries}
	if err != nil {
		p.Error = err.Error()
	}
	if err := r.e.st.StepSetCleanup(ctx, p); err != nil {
		r.e.log.Error("record cleanup", "run_id", r.run.ID, "step", step, "err", err)
	}
}
