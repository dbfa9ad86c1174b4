package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// instance is one instance of a fan-out step: the step as it runs for one
// item, under the instance's own name.
type instance struct {
	step   pipeline.Step // the fan-out step, named as the instance
	parent string
	item   string
	index  int
}

// addInstance records an instance of a fan-out step the runner drives.
func (r *runner) addInstance(parent *pipeline.Step, name, item string, index int) {
	st := *parent
	st.Name, st.ForEach, st.If = name, nil, ""
	r.instanceOf[name] = &instance{step: st, parent: parent.Name, item: item, index: index}
	r.instances[parent.Name] = append(r.instances[parent.Name], name)
}

// specName is the name the pipeline gives a step: an instance's parent's.
func (r *runner) specName(step string) string {
	if in, ok := r.instanceOf[step]; ok {
		return in.parent
	}
	return step
}

// itemVars adds, for an instance, its item and the item's index to the
// variables it sees.
func (r *runner) itemVars(step string, vars map[string]string) {
	if in, ok := r.instanceOf[step]; ok {
		vars["item"], vars["item_index"] = in.item, strconv.Itoa(in.index)
	}
}

// expand makes the instances of a fan-out step that is ready: its items
// from for_each, evaluated now, one instance each. It reports false, the
// step ended, when the items cannot be had.
func (r *runner) expand(ctx context.Context, st *pipeline.Step) bool {
	items, err := r.spec.Items(st, r.conditionInput(st))
	if err != nil {
		r.errs[st.Name] = err.Error()
		r.finishStep(ctx, st.Name, store.StepFailed, err.Error())
		return false
	}
	err = r.e.st.StepExpand(ctx, &store.StepExpandParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: st.Name, Items: items, Now: r.e.cfg.Now()})
	if err != nil {
		msg := fmt.Sprintf("record the instances: %v", err)
		r.errs[st.Name] = msg
		r.finishStep(ctx, st.Name, store.StepFailed, msg)
		return false
	}
	r.status[st.Name] = store.StepRunning
	for i, item := range items {
		name := store.InstanceName(st.Name, i)
		r.addInstance(st, name, item, i)
		r.status[name] = store.StepPending
		r.rows[name] = &store.StepRow{RunID: r.run.ID, Name: name, Status: store.StepPending, Parent: st.Name, Item: item, ItemIndex: i}
	}
	r.e.changes.signal(r.run.ID)
	return true
}

// advanceInstances starts the pending instances of a running fan-out step,
// up to its max_parallel, and ends the step once every instance has
// ended. It returns how many it started and whether anything changed.
func (r *runner) advanceInstances(ctx context.Context, st *pipeline.Step) (started int, changed bool) {
	names := r.instances[st.Name]
	running, failed := 0, ""
	for _, name := range names {
		switch s := r.status[name]; {
		case s == store.StepRunning || s == store.StepRetrying:
			running++
		case s == store.StepFailed && failed == "":
			failed = name
		}
	}
	if st.ForEach.FailFast && failed != "" {
		for _, name := range names {
			if s := r.status[name]; s == store.StepRunning || s == store.StepRetrying {
				r.halt(name, fmt.Sprintf("stopped: instance %s failed, and the step fails fast", failed))
			}
		}
	}
	for _, name := range names {
		if r.status[name] != store.StepPending {
			continue
		}
		switch {
		case r.ctx.Err() != nil:
			r.finishStep(ctx, name, store.StepCanceled, context.Cause(r.ctx).Error())
			changed = true
		case st.ForEach.FailFast && failed != "":
			reason := fmt.Sprintf("not started: instance %s failed, and the step fails fast", failed)
			r.errs[name] = reason
			r.finishStep(ctx, name, store.StepSkipped, reason)
			changed = true
		case st.ForEach.MaxParallel == 0 || running < st.ForEach.MaxParallel:
			r.status[name] = store.StepRunning
			in := r.instanceOf[name]
			r.launch(&in.step)
			running++
			started++
		}
	}
	if running > 0 || started > 0 {
		return started, changed
	}
	for _, name := range names {
		if !r.status[name].Terminal() {
			return started, changed // canceled or skipped just now: ended next pass
		}
	}
	r.endFanOut(ctx, st)
	return started, true
}

// endFanOut ends a fan-out step whose instances have all ended: succeeded
// when they all did, with each output name's values gathered into one
// JSON object keyed by item; else failed, naming the instances that did
// not succeed.
func (r *runner) endFanOut(ctx context.Context, st *pipeline.Step) {
	names := r.instances[st.Name]
	var bad []string
	gathered := make(map[string]map[string]string)
	for _, name := range names {
		if r.status[name] != store.StepSucceeded {
			why := r.errs[name]
			if why == "" {
				why = string(r.status[name])
			}
			bad = append(bad, fmt.Sprintf("%s (%s): %s", name, r.instanceOf[name].item, why))
			continue
		}
		for k, v := range r.outputs[name] {
			if gathered[k] == nil {
				gathered[k] = make(map[string]string)
			}
			gathered[k][r.instanceOf[name].item] = v
		}
	}
	status, reason := store.StepSucceeded, ""
	outputs := make(map[string]string, len(gathered))
	canceled := 0
	for _, name := range names {
		if r.status[name] == store.StepCanceled {
			canceled++
		}
	}
	if len(bad) > 0 {
		status = store.StepFailed
		if canceled == len(bad) {
			status = store.StepCanceled // stopped with the run, none failed
		}
		shown := bad[:min(len(bad), 3)]
		reason = fmt.Sprintf("%d of %d instances did not succeed: %s", len(bad), len(names), strings.Join(shown, "; "))
		if len(bad) > len(shown) {
			reason += fmt.Sprintf("; and %d more", len(bad)-len(shown))
		}
	} else {
		for _, k := range slices.Sorted(maps.Keys(gathered)) {
			b, _ := json.Marshal(gathered[k])
			if len(b) > contract.MaxValueBytes {
				status, reason, outputs = store.StepFailed, fmt.Sprintf("the instances' output %q gathered is %d bytes, over the %d-byte limit of a value", k, len(b), contract.MaxValueBytes), nil
				break
			}
			outputs[k] = string(b)
		}
	}
	if status == store.StepSucceeded {
		if err := countVars(r.run.Vars, r.outputs, outputs); err != nil {
			status, reason, outputs = store.StepFailed, err.Error(), nil
		}
	}
	err := r.e.st.StepFinish(ctx, &store.StepFinishParams{Epoch: r.run.Lease.Epoch, RunID: r.run.ID, Name: st.Name,
		Status: status, Error: reason, Outputs: outputs, Now: r.e.cfg.Now()})
	if err != nil {
		r.e.log.Error("record the end of a fan-out step", "run_id", r.run.ID, "step", st.Name, "err", err)
	}
	r.status[st.Name] = status
	if status == store.StepSucceeded {
		r.outputs[st.Name] = outputs
	} else {
		r.errs[st.Name] = reason
	}
	r.e.changes.signal(r.run.ID)
	r.logf("fan-out step ended", "step", st.Name, "instances", len(names), "status", status)
}

// halt stops a running instance of a fail_fast step, once: its attempt's
// container is stopped through the executor that made it, and the
// instance ends canceled with why, without another attempt.
func (r *runner) halt(name, why string) {
	if _, already := r.halted.LoadOrStore(name, why); already {
		return
	}
	ctx := context.WithoutCancel(r.ctx)
	go func() {
		attempts, err := r.e.st.AttemptList(ctx, r.run.ID)
		if err != nil {
			r.e.log.Warn("stop an instance of a fail_fast step", "run_id", r.run.ID, "step", name, "err", err)
			return
		}
		for _, a := range attempts {
			if a.Step != name || a.Status != store.StepRunning || len(a.Handle) == 0 {
				continue
			}
			var h executor.Handle
			if json.Unmarshal(a.Handle, &h) == nil {
				r.stop(name, &h)
			}
		}
	}()
}
