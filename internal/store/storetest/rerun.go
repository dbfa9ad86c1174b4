package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

func testRunCreateDone(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := &store.RunCreateParams{
		ID: "r", Pipeline: "p", Revision: 1, Executor: "noop",
		Steps: []string{"fetch", "build", "test", "ship"},
		Done: map[string]map[string]string{
			"fetch": {"SHA": "abc123"},
			"test":  nil, // a step that succeeded without outputs
		},
		Now: t0,
	}
	_, err := s.RunCreate(ctx, p)
	must(t, err, "RunCreate with done steps")
	p.Done["fetch"]["SHA"] = "changed" // the store must keep its own copy

	steps, err := s.StepList(ctx, "r")
	must(t, err, "StepList")
	if len(steps) != 4 {
		t.Fatalf("StepList: got %d steps, want 4", len(steps))
	}
	for i, st := range steps {
		if st.Name != p.Steps[i] || st.Index != i || st.Attempts != 0 || st.ExitCode != nil || st.Error != "" {
			t.Fatalf("step %d: got %+v", i, st)
		}
		switch st.Name {
		case "fetch", "test":
			if st.Status != store.StepSucceeded {
				t.Fatalf("done step %q: got status %s, want succeeded", st.Name, st.Status)
			}
			wantTime(t, st.StartedAt, t0, "done step StartedAt")
			wantTime(t, st.FinishedAt, t0, "done step FinishedAt")
		default:
			if st.Status != store.StepPending || !st.StartedAt.IsZero() || !st.FinishedAt.IsZero() || len(st.Outputs) != 0 {
				t.Fatalf("step %q not done: got %+v, want pending", st.Name, st)
			}
		}
	}
	wantMap(t, steps[0].Outputs, map[string]string{"SHA": "abc123"}, "done step's committed outputs")
	wantMap(t, steps[2].Outputs, nil, "outputs of a done step without outputs")

	attempts, err := s.AttemptList(ctx, "r")
	must(t, err, "AttemptList")
	if len(attempts) != 0 {
		t.Fatalf("AttemptList: done steps got %d attempts, want none", len(attempts))
	}
	_, err = s.AttemptGet(ctx, "r", "fetch", 1)
	wantErr(t, err, store.ErrNotFound, "AttemptGet of a done step")

	// A done step is finished: it cannot start or finish again.
	wantErr(t, s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "fetch", Attempt: 1, Now: at(1)}),
		store.ErrConflict, "StepStart of a done step")
	wantErr(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "test", Status: store.StepSkipped, Now: at(1)}),
		store.ErrConflict, "StepFinish of a done step")
	startStep(t, s, "r", "build", 1)
	if st := stepOf(t, s, "r", "fetch"); st.Status != store.StepSucceeded || st.Outputs["SHA"] != "abc123" {
		t.Fatalf("refused changes altered the done step: %+v", st)
	}
}

func testRunCreateDoneUnknown(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.RunCreate(ctx, &store.RunCreateParams{
		ID: "r", Pipeline: "p", Steps: []string{"a", "b"},
		Done: map[string]map[string]string{"a": {"k": "v"}, "ghost": nil},
		Now:  t0,
	})
	if err == nil || !strings.Contains(err.Error(), `"ghost"`) {
		t.Fatalf("RunCreate with an unknown done step: got %v, want an error naming %q", err, "ghost")
	}
	for _, sentinel := range []error{store.ErrNotFound, store.ErrExists, store.ErrConflict} {
		if errors.Is(err, sentinel) {
			t.Fatalf("RunCreate with an unknown done step: got %v, want no sentinel", err)
		}
	}
	_, err = s.RunGet(ctx, "r")
	wantErr(t, err, store.ErrNotFound, "RunGet of a refused run")
	steps, err := s.StepList(ctx, "r")
	must(t, err, "StepList of a refused run")
	if len(steps) != 0 {
		t.Fatalf("refused run: got %d steps, want none", len(steps))
	}
	// The ID is still free.
	createRun(t, s, "r", "p", t0, "a", "b")
}

func testRunRetryOf(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := createRun(t, s, "r1", "p", at(1), "s")
	if first.RetryOf != "" {
		t.Fatalf("new run: got RetryOf %q, want empty", first.RetryOf)
	}
	created, err := s.RunCreate(ctx, &store.RunCreateParams{ID: "r2", Pipeline: "p", Revision: 1,
		Steps: []string{"s"}, RetryOf: "r1", Now: at(2)})
	must(t, err, "RunCreate of a re-run")
	got, err := s.RunGet(ctx, "r2")
	must(t, err, "RunGet")
	listed, err := s.RunList(ctx, &store.RunListParams{Pipeline: "p"})
	must(t, err, "RunList")
	if len(listed) != 2 || listed[0].ID != "r2" || listed[1].ID != "r1" {
		t.Fatalf("RunList: got %q, want [r2 r1]", runIDs(listed))
	}
	for what, r := range map[string]*store.RunRow{"created": created, "got": got, "listed": listed[0]} {
		if r.RetryOf != "r1" {
			t.Fatalf("%s re-run: got RetryOf %q, want r1", what, r.RetryOf)
		}
	}
	if listed[1].RetryOf != "" {
		t.Fatalf("listed new run: got RetryOf %q, want empty", listed[1].RetryOf)
	}
	if r, err := s.RunGet(ctx, "r1"); err != nil || r.RetryOf != "" {
		t.Fatalf("RunGet of the new run: got %+v, %v", r, err)
	}
}
