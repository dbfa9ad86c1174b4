package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// runner drives one run. Its loop owns the step states; step goroutines only
// report back through done, so a finished step makes its dependents start at
// once, without polling.
type runner struct {
	e      *Engine
	run    *store.RunRow
	spec   *pipeline.Spec
	ctx    context.Context
	cancel context.CancelCauseFunc

	status  map[string]store.StepStatus
	rows    map[string]*store.StepRow
	outputs map[string]map[string]string // committed outputs by step
	errs    map[string]string            // why a step failed
	done    chan stepDone
	// cleanups are removals still under way; the run ends after them. A
	// pointer: the runner of the finally phase shares it.
	cleanups *sync.WaitGroup
	// serial: start only when no other run of the pipeline runs.
	serial bool
	// release gives the run's place in its pipeline's gate back.
	release func()
	// condSkipped are the steps skipped because their if: was false: the
	// steps that need them run all the same.
	condSkipped map[string]bool
	// finally: the run's finally steps have begun (see enterFinally);
	// mainCause is what had ended its other steps early, if anything.
	finally   bool
	mainCause error
	// timeout fires at the run's timeout; nil without one.
	timeout *time.Timer
	// instances are the instances of fan-out steps, by step in item
	// order; instanceOf finds an instance by its name.
	instances  map[string][]string
	instanceOf map[string]*instance
	// halted are the running instances a fail_fast step stopped, by name,
	// with why: they end canceled, and are not tried again. A pointer:
	// the runner of the finally phase shares it.
	halted *sync.Map
	// launches are what each launched step's goroutine needs of the
	// loop's state, taken as it is launched (see launched). A pointer:
	// the runner of the finally phase shares it.
	launches *sync.Map
}

// launched is what a step's goroutine needs of the maps its runner's loop
// owns, copied when the step is launched: the name the pipeline gives it,
// an instance's item variables, and what a sub-pipeline's params see.
type launched struct {
	specName string
	item     map[string]string
	cond     *pipeline.ConditionInput
}

// launchedOf returns what step was launched with.
func (r *runner) launchedOf(step string) *launched {
	if l, ok := r.launches.Load(step); ok {
		return l.(*launched)
	}
	return &launched{specName: step}
}

// stepDone is what a step goroutine reports when its step is terminal.
type stepDone struct {
	step    string
	status  store.StepStatus
	outputs map[string]string
	err     string
}

func newRunner(e *Engine, run *store.RunRow, spec *pipeline.Spec) *runner {
	ctx, cancel := context.WithCancelCause(e.ctx)
	return &runner{
		e: e, run: run, spec: spec, ctx: ctx, cancel: cancel,
		status:  make(map[string]store.StepStatus, len(spec.Steps)),
		rows:    make(map[string]*store.StepRow, len(spec.Steps)),
		outputs: make(map[string]map[string]string),
		errs:    make(map[string]string),
		done:    make(chan stepDone, len(spec.Steps)),

		condSkipped: make(map[string]bool),
		cleanups:    new(sync.WaitGroup),
		instances:   make(map[string][]string),
		instanceOf:  make(map[string]*instance),
		halted:      new(sync.Map),
		launches:    new(sync.Map),
	}
}

func (r *runner) logf(msg string, args ...any) {
	r.e.log.Info(msg, append([]any{"run_id", r.run.ID}, args...)...)
}

func (r *runner) loop() {
	defer r.cancel(nil)
	defer r.cleanups.Wait()
	ctx := context.WithoutCancel(r.ctx)
	defer func() {
		if r.release != nil {
			r.release()
		}
	}()
	if !r.run.CancelRequestedAt.IsZero() {
		// Asked before a crash, or before this runner began: the request
		// stands; what runs is stopped, nothing new starts.
		r.cancel(errCanceled)
	}
	if err := r.load(ctx); err != nil {
		if !errors.Is(err, errShutdown) {
			r.e.log.Error("run cannot continue", "run_id", r.run.ID, "err", err)
		}
		return
	}
	if r.spec.Timeout > 0 {
		start := r.run.StartedAt
		if start.IsZero() {
			start = r.e.cfg.Now()
		}
		r.timeout = time.AfterFunc(max(r.spec.Timeout-r.e.cfg.Now().Sub(start), 0), func() {
			r.cancel(fmt.Errorf("%w after %s", errRunTimeout, r.spec.Timeout))
		})
		defer r.timeout.Stop()
	}
	cur := r
	if r.hasFinally() && r.mainEnded() {
		cur = r.finallyRunner() // a restart in the finally phase
		defer cur.cancel(nil)
	}
	running := 0
	for _, st := range cur.spec.Steps {
		if st.ForEach != nil {
			for _, name := range cur.instances[st.Name] {
				if cur.status[name] == store.StepRunning || cur.status[name] == store.StepRetrying {
					running++
					cur.launch(&cur.instanceOf[name].step)
				}
			}
			continue // the step itself runs nothing: its instances do
		}
		if cur.status[st.Name] == store.StepRunning || cur.status[st.Name] == store.StepRetrying {
			running++
			cur.launch(&st)
		}
	}
	for {
		if !cur.drive(ctx, running) {
			return // shut down: everything is left as stored, for Resume
		}
		if cur.finally || !cur.hasFinally() {
			cur.finish(ctx)
			return
		}
		cur = cur.finallyRunner()
		defer cur.cancel(nil)
		running = 0
	}
}

// drive starts steps as they become ready and takes their ends until none
// runs and none can start; running are those launched already. It returns
// false when the engine shuts down, or the run moved to another server,
// meanwhile: then everything is left as stored.
func (r *runner) drive(ctx context.Context, running int) bool {
	ctxDone := r.ctx.Done()
	for {
		if r.ctx.Err() != nil && errors.Is(context.Cause(r.ctx), errShutdown) {
			return false // leave everything as stored; Resume picks it up
		}
		running += r.advance(ctx)
		if running == 0 {
			return true
		}
		select {
		case d := <-r.done:
			running--
			if d.status == "" {
				continue // abandoned at shutdown
			}
			r.status[d.step] = d.status
			if d.status == store.StepSucceeded {
				r.outputs[d.step] = d.outputs
			} else if d.err != "" {
				r.errs[d.step] = d.err
			}
		case <-ctxDone:
			// Step goroutines see the same context and report back.
			ctxDone = nil
			if errors.Is(context.Cause(r.ctx), errShutdown) {
				for ; running > 0; running-- {
					<-r.done
				}
				return false
			}
		}
	}
}

// load reads the run's steps from the store and marks the run running.
func (r *runner) load(ctx context.Context) error {
	rows, err := r.e.st.StepList(ctx, r.run.ID)
	if err != nil {
		return fmt.Errorf("load steps: %w", err)
	}
	for _, row := range rows {
		r.rows[row.Name] = row
		r.status[row.Name] = row.Status
		if row.Status == store.StepSucceeded {
			r.outputs[row.Name] = row.Outputs
		}
		if row.Error != "" {
			r.errs[row.Name] = row.Error
		}
		if skippedByCondition(row.Status, row.Error) {
			r.condSkipped[row.Name] = true
		}
	}
	for _, row := range rows {
		if row.Parent == "" {
			continue
		}
		for i := range r.spec.Steps {
			if st := &r.spec.Steps[i]; st.Name == row.Parent && st.ForEach != nil {
				r.addInstance(st, row.Name, row.Item, row.ItemIndex)
			}
		}
	}
	if r.e.cfg.Shared {
		return r.loadShared(ctx)
	}
	g := r.e.gateOf(r.run.Pipeline)
	if r.run.Status != store.RunQueued {
		g.enter()
		r.release = g.release
		return nil
	}
	if err := g.acquire(r.ctx, r.spec.Concurrency, r.serial); err != nil {
		if errors.Is(context.Cause(r.ctx), errShutdown) {
			return errShutdown
		}
		return nil // canceled while queued: the loop ends it
	}
	r.release = g.release
	err = r.e.st.RunSetStatus(ctx, &store.RunSetStatusParams{Epoch: r.run.Lease.Epoch, ID: r.run.ID, Status: store.RunRunning, Now: r.e.cfg.Now()})
	if errors.Is(err, store.ErrConflict) {
		// Canceled before it started.
		r.cancel(errCanceled)
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark running: %w", err)
	}
	r.run.Status = store.RunRunning
	r.run.StartedAt = r.e.cfg.Now()
	r.e.changes.signal(r.run.ID)
	return nil
}

// loadShared marks a queued run running through the gate the servers
// sharing the store keep (see admitShared).
func (r *runner) loadShared(ctx context.Context) error {
	if r.run.Status != store.RunQueued {
		return nil
	}
	err := r.admitShared(ctx)
	switch {
	case errors.Is(err, store.ErrConflict):
		r.cancel(errCanceled) // canceled before it started
		return nil
	case err != nil && r.ctx.Err() != nil:
		if errors.Is(context.Cause(r.ctx), errShutdown) {
			return errShutdown
		}
		return nil // canceled while queued: the loop ends it
	case err != nil:
		return fmt.Errorf("mark running: %w", err)
	}
	r.run.Status = store.RunRunning
	r.run.StartedAt = r.e.cfg.Now()
	r.e.changes.signal(r.run.ID)
	return nil
}

// advance starts every step whose needs have all succeeded, skips those that
// can never run, and returns how many it started.
func (r *runner) advance(ctx context.Context) int {
	started := 0
	for changed := true; changed; {
		changed = false
		for i := range r.spec.Steps {
			st := &r.spec.Steps[i]
			if st.ForEach != nil && r.status[st.Name] == store.StepRunning {
				n, c := r.advanceInstances(ctx, st)
				started += n
				changed = changed || c
				continue
			}
			if r.status[st.Name] != store.StepPending {
				continue
			}
			if st.Finally != r.finally {
				continue // finally steps wait for the others; those do not wait for them
			}
			if r.ctx.Err() != nil {
				r.finishStep(ctx, st.Name, store.StepCanceled, context.Cause(r.ctx).Error())
				changed = true
				continue
			}
			ready, blocked := true, ""
			for _, need := range st.Needs {
				switch s := r.status[need]; {
				case r.needMet(need):
				case st.Finally && s.Terminal():
					// A finally step waits for the finally steps it
					// needs to end, however they end.
				case s.Terminal():
					blocked = need
				default:
					ready = false
				}
			}
			if blocked != "" {
				r.finishStep(ctx, st.Name, store.StepSkipped, fmt.Sprintf("step %q did not succeed", blocked))
				changed = true
				continue
			}
			if !ready {
				continue
			}
			if st.If != "" {
				run, err := r.condition(st)
				switch {
				case err != nil:
					r.errs[st.Name] = err.Error()
					r.finishStep(ctx, st.Name, store.StepFailed, err.Error())
					changed = true
					continue
				case !run:
					r.condSkipped[st.Name] = true
					r.finishStep(ctx, st.Name, store.StepSkipped, condSkipReason+" ("+st.If+")")
					changed = true
					continue
				}
			}
			if st.ForEach != nil {
				r.expand(ctx, st)
				changed = true // its instances start on the next pass
				continue
			}
			r.status[st.Name] = store.StepRunning
			r.launch(st)
			started++
		}
	}
	return started
}

// finishStep ends a step that never got an attempt.
func (r *runner) finishStep(ctx context.Context, name string, status store.StepStatus, reason string) {
	r.status[name] = status
	err := r.e.st.StepFinish(ctx, &store.StepFinishParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: name, Status: status, Error: reason, Now: r.e.cfg.Now()})
	if err != nil {
		r.e.log.Error("record step end", "run_id", r.run.ID, "step", name, "err", err)
	}
}

func (r *runner) launch(st *pipeline.Step) {
	// The step's ancestors have all finished: a snapshot of their outputs is
	// all it will ever see.
	outputs := maps.Clone(r.outputs)
	row := r.rows[st.Name]
	l := &launched{specName: r.specName(st.Name), item: make(map[string]string)}
	r.itemVars(st.Name, l.item)
	if st.Pipeline != nil {
		l.cond = r.conditionInput(st)
	}
	r.launches.Store(st.Name, l)
	go func() { r.done <- r.runStep(st, row, outputs) }()
}

// stopped reports whether the run is being stopped, and then how an attempt
// that was about to start ends instead: canceled, failed by the run's
// timeout, or left to the next life of the engine at shutdown.
func (r *runner) stopped() (outcome, bool) {
	if r.ctx.Err() == nil {
		return outcome{}, false
	}
	cause := context.Cause(r.ctx)
	switch {
	case errors.Is(cause, errShutdown):
		return outcome{}, true
	case errors.Is(cause, errCanceled):
		return outcome{status: store.StepCanceled, err: cause.Error()}, true
	}
	return outcome{status: store.StepFailed, err: cause.Error()}, true
}

// observeAttempt counts an attempt that ended, and how long it ran.
func (r *runner) observeAttempt(step string, attempt int, status store.StepStatus) {
	m := r.e.cfg.Metrics
	m.Attempts.WithLabelValues(r.run.Pipeline, string(status)).Inc()
	a, err := r.e.st.AttemptGet(context.WithoutCancel(r.ctx), r.run.ID, step, attempt)
	if err != nil || a.StartedAt.IsZero() || a.FinishedAt.IsZero() {
		return
	}
	m.AttemptSeconds.WithLabelValues(r.run.Pipeline, string(status)).Observe(a.FinishedAt.Sub(a.StartedAt).Seconds())
}

// finish records how the run ended, once every container is removed.
func (r *runner) finish(ctx context.Context) {
	r.cleanups.Wait()
	r.sweep(ctx)
	status, failed, reason := r.tally(true)
	if reason == "" {
		reasons := make([]string, len(failed))
		for i, name := range failed {
			reasons[i] = fmt.Sprintf("step %q: %s", name, r.errs[name])
		}
		reason = strings.Join(reasons, "; ")
	}
	// Retried until stored (see durable); the store ends, with the run,
	// any step whose own end it does not have.
	now := r.e.cfg.Now()
	notes := r.e.notifications(ctx, r.run, r.spec, status, reason, now)
	err := r.e.st.RunSetStatus(ctx, &store.RunSetStatusParams{Epoch: r.run.Lease.Epoch, ID: r.run.ID, Status: status, Error: reason, Now: now, Notify: notes})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		r.e.log.Error("record run end", "run_id", r.run.ID, "err", err)
		return // the engine stops: the next life ends the run
	}
	queued(err, notes)
	r.e.changes.signal(r.run.ID)
	m := r.e.cfg.Metrics
	m.RunsFinished.WithLabelValues(r.run.Pipeline, string(status)).Inc()
	if status == store.RunFailed && r.retriedAndFailed(ctx) {
		m.RunsFailedAfterRetries.WithLabelValues(r.run.Pipeline).Inc()
	}
	r.logf("run finished", "status", status)
}

// retriedAndFailed reports whether a step of the run failed after it was
// retried.
func (r *runner) retriedAndFailed(ctx context.Context) bool {
	steps, err := r.e.st.StepList(ctx, r.run.ID)
	if err != nil {
		return false
	}
	for _, s := range steps {
		if s.Status == store.StepFailed && s.Attempts > 1 {
			return true
		}
	}
	return false
}

// Vars returns every variable of a finished or running run: its own and the
// committed outputs of its steps.
func (e *Engine) Vars(ctx context.Context, run *store.RunRow, steps []*store.StepRow) (map[string]string, error) {
	spec, _, err := e.Spec(ctx, run.Pipeline, run.Revision)
	if err != nil {
		return nil, err
	}
	outputs := make(map[string]map[string]string, len(steps))
	for _, s := range steps {
		if s.Status == store.StepSucceeded {
			outputs[s.Name] = s.Outputs
		}
	}
	return runVars(spec, run.Vars, outputs), nil
}
