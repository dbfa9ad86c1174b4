package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/mask"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// ErrNotWaiting is the refusal of a decision on a step that does not wait
// for one yet: it has no approval, or the run has not reached it.
var ErrNotWaiting = errors.New("step is not waiting for a decision")

// approvalGrace is how long past an approval's deadline the engine waits
// before it reads the approval one last time and fails the step: a
// decision the store took just before the deadline has committed by then.
const approvalGrace = time.Second

// awaitApproval is the life of a step with an approval: it records the
// wait (or finds the one an earlier life recorded, with its start and
// deadline), waits for the decision any server may store, and ends the
// step by it. A shutdown leaves the step as stored, for the next life to
// wait on.
func (r *runner) awaitApproval(st *pipeline.Step, outputs map[string]map[string]string) stepDone {
	ctx := context.WithoutCancel(r.ctx)
	// Counted from before the wait is stored, so that whoever sees it
	// stored sees it counted too.
	waiting := r.e.cfg.Metrics.ApprovalsWaiting.WithLabelValues(r.run.Pipeline)
	waiting.Inc()
	defer waiting.Dec()
	now := r.e.cfg.Now()
	open := &store.ApprovalOpenParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Step: st.Name, Message: st.Approval.Message, Since: now}
	if st.Approval.Timeout > 0 {
		open.Deadline = now.Add(st.Approval.Timeout)
	}
	a, err := r.e.st.ApprovalOpen(ctx, open)
	switch {
	case errors.Is(err, store.ErrFenced) || errors.Is(err, store.ErrUnavailable):
		// Fenced: the run is stopped here for its new owner; unavailable
		// past every retry: the engine is stopping. Either waits instead.
		r.e.log.Error("record the approval's wait", "run_id", r.run.ID, "step", st.Name, "err", err)
		return stepDone{step: st.Name}
	case err != nil:
		return r.endApproval(st, store.StepFailed, fmt.Sprintf("record the wait for approval: %v", err), nil)
	}
	r.e.changes.signal(r.run.ID)
	r.logf("waiting for approval", "step", st.Name, "deadline", a.Deadline)
	// Another server may store the decision: its signal wakes this wait,
	// and a read every third of the lease catches one whose signal was
	// lost, or that came while no signals carry.
	poll := time.NewTicker(max(r.e.cfg.Lease/3, 100*time.Millisecond))
	defer poll.Stop()
	for {
		changed := r.e.changes.watch(r.run.ID)
		got, err := r.e.st.ApprovalGet(ctx, r.run.ID, st.Name)
		switch {
		case err != nil:
			r.e.log.Warn("read the approval; reading again", "run_id", r.run.ID, "step", st.Name, "err", err)
		case got.Decided():
			return r.decided(st, got, outputs)
		}
		var timer *time.Timer
		var timeout <-chan time.Time
		if !a.Deadline.IsZero() && err == nil {
			// Past the deadline, what was just read is the last word.
			left := a.Deadline.Add(approvalGrace).Sub(r.e.cfg.Now())
			if left <= 0 {
				why := fmt.Sprintf("approval timed out after %s: nobody approved or rejected it by %s", a.Deadline.Sub(a.Since), a.Deadline.Format(time.RFC3339))
				return r.endApproval(st, store.StepFailed, why, nil)
			}
			timer = time.NewTimer(left)
			timeout = timer.C
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-timeout:
		case <-r.ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			cause := context.Cause(r.ctx)
			if errors.Is(cause, errShutdown) {
				return stepDone{step: st.Name}
			}
			status := store.StepFailed // the run timed out
			if errors.Is(cause, errCanceled) {
				status = store.StepCanceled
			}
			return r.endApproval(st, status, cause.Error(), nil)
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// ApprovalOpen is the store's, tried again while the store cannot write
// (see durable), and fenced like every write of a run.
func (d *durable) ApprovalOpen(ctx context.Context, p *store.ApprovalOpenParams) (*store.ApprovalRow, error) {
	var a *store.ApprovalRow
	err := d.retry(ctx, "approval_open", func() error {
		var err error
		a, err = d.Store.ApprovalOpen(ctx, p)
		return err
	})
	return a, d.e.fenced(p.RunID, err)
}

// decided ends a step by the decision stored on its approval.
func (r *runner) decided(st *pipeline.Step, a *store.ApprovalRow, outputs map[string]map[string]string) stepDone {
	if !a.Approved {
		why := "rejected by " + a.DecidedBy
		if a.Reason != "" {
			why += ": " + a.Reason
		}
		return r.endApproval(st, store.StepFailed, why, nil)
	}
	// Checked when the decision was taken, and again here: a stored value
	// is outside input too.
	if err := checkApprovalValues(a.Values, r.spec.EnvPrefix); err != nil {
		return r.endApproval(st, store.StepFailed, "approved by "+a.DecidedBy+", but "+err.Error(), nil)
	}
	if err := countVars(r.run.Vars, outputs, a.Values); err != nil {
		return r.endApproval(st, store.StepFailed, "approved by "+a.DecidedBy+", but "+err.Error(), nil)
	}
	return r.endApproval(st, store.StepSucceeded, "", a.Values)
}

// endApproval records how an approval step ended and reports it.
func (r *runner) endApproval(st *pipeline.Step, status store.StepStatus, why string, values map[string]string) stepDone {
	err := r.e.st.StepFinish(context.WithoutCancel(r.ctx), &store.StepFinishParams{Epoch: r.run.Lease.Epoch,
		RunID: r.run.ID, Name: st.Name, Status: status, Error: why, Outputs: values, Now: r.e.cfg.Now(),
	})
	if err != nil {
		r.e.log.Error("record the approval step's end", "run_id", r.run.ID, "step", st.Name, "err", err)
		if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrFenced) {
			return stepDone{step: st.Name} // the next life, or the new owner, ends it
		}
	}
	r.e.changes.signal(r.run.ID)
	r.logf("approval step ended", "step", st.Name, "status", status, "reason", why)
	return stepDone{step: st.Name, status: status, outputs: values, err: why}
}

// checkApprovalValues applies the rules of step outputs to the values an
// approval passes: names and sizes by the contract, no reserved names, no
// names that would clash with baton's own under the pipeline's prefix.
func checkApprovalValues(values map[string]string, envPrefix string) error {
	if len(values) > contract.MaxVariables {
		return fmt.Errorf("%d values are more than the limit of %d", len(values), contract.MaxVariables)
	}
	for _, name := range slices.Sorted(mapsKeys(values)) {
		if err := contract.ValidName(name); err != nil {
			return fmt.Errorf("values: %w", err)
		}
		if err := contract.ValidValue(values[name]); err != nil {
			return fmt.Errorf("value %q: %w", name, err)
		}
	}
	if err := contract.CheckTotal(values); err != nil {
		return fmt.Errorf("values: %w", err)
	}
	return checkOutputs(values, envPrefix, nil)
}

// DecideParams are the arguments of [Engine.Decide].
type DecideParams struct {
	RunID string
	Step  string
	// Approve approves the step; false rejects it.
	Approve bool
	// By names who decided, as shown on the run.
	By     string
	Reason string
	// Values become the step's outputs; only an approval passes them.
	Values map[string]string
}

// Decide stores an operator's decision on a step that waits for one. The
// engine driving the run, here or on another server, acts on it. Bad
// input is [ErrInvalid]; a step that does not wait yet is [ErrNotWaiting];
// a decision that comes too late, as a second one does, is a
// [*store.ApprovalClosedError].
func (e *Engine) Decide(ctx context.Context, p *DecideParams) (*store.ApprovalRow, error) {
	run, err := e.cfg.Store.RunGet(ctx, p.RunID)
	if err != nil {
		return nil, fmt.Errorf("engine: decide on run %s: %w", p.RunID, err)
	}
	spec, _, err := e.Spec(ctx, run.Pipeline, run.Revision)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(spec.Steps, func(s pipeline.Step) bool { return s.Name == p.Step })
	switch {
	case i < 0:
		return nil, fmt.Errorf("%w: run %s has no step %q", ErrInvalid, p.RunID, p.Step)
	case spec.Steps[i].Approval == nil:
		return nil, fmt.Errorf("%w: step %q of run %s has no approval: it runs by itself", ErrNotWaiting, p.Step, p.RunID)
	case !p.Approve && len(p.Values) > 0:
		return nil, fmt.Errorf("%w: values are passed with an approval only; leave them out of a rejection", ErrInvalid)
	}
	if err := checkApprovalValues(p.Values, spec.EnvPrefix); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := e.checkValueSecrets(ctx, spec, p.Values); err != nil {
		return nil, err
	}
	if err := e.checkClash(ctx, spec, p); err != nil {
		return nil, err
	}
	d := &store.ApprovalDecideParams{RunID: p.RunID, Step: p.Step, Approve: p.Approve, By: p.By, Reason: p.Reason, Values: p.Values, Now: e.cfg.Now()}
	if err := store.CheckApprovalDecide(d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// Not retried: the operator hears that the decision was not recorded.
	a, err := e.cfg.Store.ApprovalDecide(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		status := "not known"
		if steps, lerr := e.cfg.Store.StepList(ctx, p.RunID); lerr == nil {
			if j := slices.IndexFunc(steps, func(s *store.StepRow) bool { return s.Name == p.Step }); j >= 0 {
				status = string(steps[j].Status)
			}
		}
		return nil, fmt.Errorf("%w: the run has not reached step %q yet (it is %s); decide once it waits", ErrNotWaiting, p.Step, status)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: decide on step %q of run %s: %w", p.Step, p.RunID, err)
	}
	verb := "rejected"
	if p.Approve {
		verb = "approved"
	}
	e.log.Info("approval decided", "run_id", p.RunID, "step", p.Step, "decision", verb, "by", p.By)
	e.changes.signal(p.RunID)
	return a, nil
}

// checkValueSecrets refuses an approval's value that carries the value of
// a secret the pipeline's steps use, in any form masking knows: values
// become outputs, stored and shown in clear, as a step's would be refused.
func (e *Engine) checkValueSecrets(ctx context.Context, spec *pipeline.Spec, values map[string]string) error {
	if len(values) == 0 || e.cfg.Secrets == nil {
		return nil
	}
	var secrets []string
	seen := make(map[string]bool)
	for _, st := range spec.Steps {
		for _, ref := range st.Secrets {
			if seen[ref.Name] {
				continue
			}
			seen[ref.Name] = true
			v, err := e.cfg.Secrets.Get(ctx, ref.Name)
			switch {
			case errors.Is(err, store.ErrNotFound):
				continue
			case err != nil:
				return fmt.Errorf("engine: check the values against secret %q: %w", ref.Name, err)
			}
			secrets = append(secrets, string(v))
		}
	}
	if len(secrets) == 0 {
		return nil
	}
	m := mask.New(secrets...)
	for _, name := range slices.Sorted(mapsKeys(values)) {
		if m.Contains(values[name]) {
			return fmt.Errorf("%w: value %q carries the value of a secret the pipeline uses; values become outputs, stored and shown in clear, so it is refused", ErrInvalid, name)
		}
	}
	return nil
}

// checkClash refuses values a step not ordered with the approval step has
// written already: the steps after both would not know whose to see.
// Steps that write one later are stopped when a step that needs both
// starts, as for any two outputs.
func (e *Engine) checkClash(ctx context.Context, spec *pipeline.Spec, p *DecideParams) error {
	if len(p.Values) == 0 {
		return nil
	}
	steps, err := e.cfg.Store.StepList(ctx, p.RunID)
	if err != nil {
		return fmt.Errorf("engine: decide on step %q of run %s: %w", p.Step, p.RunID, err)
	}
	for _, s := range steps {
		if s.Name == p.Step || spec.Ordered(s.Name, p.Step) {
			continue
		}
		for _, name := range slices.Sorted(mapsKeys(p.Values)) {
			if _, ok := s.Outputs[name]; ok {
				return fmt.Errorf("%w: value %q is an output of step %q too, which does not depend on step %q nor it on that one; pass another name", ErrInvalid, name, s.Name, p.Step)
			}
		}
	}
	return nil
}
