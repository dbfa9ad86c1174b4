package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// testStepExpand: a fan-out step's instances are step rows right after
// it, in item order, pending, naming their parent and item; the step is
// running; a second expansion, or one of a step that is not pending, is
// refused; instances run like steps; the run's end ends them too.
func testStepExpand(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", at(1), "before", "fan", "after")
	items := []string{"eu", "us", "ap\nsouth"}
	must(t, s.StepExpand(ctx, &store.StepExpandParams{RunID: "r", Name: "fan", Items: items, Now: at(2)}), "StepExpand")
	wantErr(t, s.StepExpand(ctx, &store.StepExpandParams{RunID: "r", Name: "fan", Items: items, Now: at(3)}), store.ErrConflict, "second StepExpand")
	wantErr(t, s.StepExpand(ctx, &store.StepExpandParams{RunID: "r", Name: "nope", Now: at(3)}), store.ErrNotFound, "StepExpand of no such step")
	steps, err := s.StepList(ctx, "r")
	must(t, err, "StepList")
	var names []string
	for _, st := range steps {
		names = append(names, st.Name)
	}
	if want := "before,fan,fan.0,fan.1,fan.2,after"; strings.Join(names, ",") != want {
		t.Fatalf("steps after expanding fan: %s, want %s", strings.Join(names, ","), want)
	}
	if steps[1].Status != store.StepRunning || steps[1].ItemIndex != -1 || steps[1].Parent != "" {
		t.Errorf("the fan-out step: %s, index %d, parent %q", steps[1].Status, steps[1].ItemIndex, steps[1].Parent)
	}
	wantTime(t, steps[1].StartedAt, at(2), "the fan-out step's start")
	for i, st := range steps[2:5] {
		if st.Status != store.StepPending || st.Parent != "fan" || st.Item != items[i] || st.ItemIndex != i {
			t.Errorf("instance %d: %+v", i, st)
		}
	}
	if steps[0].ItemIndex != -1 || steps[5].ItemIndex != -1 {
		t.Errorf("plain steps' item index: %d, %d", steps[0].ItemIndex, steps[5].ItemIndex)
	}
	startStep(t, s, "r", "fan.1", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "fan.1", Attempt: 1, Status: store.StepSucceeded,
		Outputs: map[string]string{"url": "u"}, Now: at(4)}), "finish an instance")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunCanceled, Now: at(5)}), "end the run")
	steps, err = s.StepList(ctx, "r")
	must(t, err, "StepList after the run ended")
	got := make(map[string]store.StepStatus)
	for _, st := range steps {
		got[st.Name] = st.Status
	}
	if got["fan.1"] != store.StepSucceeded || got["fan.0"] != store.StepCanceled || got["fan"] != store.StepCanceled {
		t.Errorf("statuses after the run ended: %v", got)
	}
	createRun(t, s, "big", "p", at(1), "fan")
	many := make([]string, store.MaxInstances+1)
	if err := s.StepExpand(ctx, &store.StepExpandParams{RunID: "big", Name: "fan", Items: many, Now: at(2)}); err == nil {
		t.Error("StepExpand of more than MaxInstances items succeeded")
	}
	if steps, _ := s.StepList(ctx, "big"); len(steps) != 1 || !slices.ContainsFunc(steps, func(r *store.StepRow) bool { return r.Status == store.StepPending }) {
		t.Errorf("a refused expansion changed the run: %d steps", len(steps))
	}
}
