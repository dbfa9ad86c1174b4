package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

func testStepLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "build", "test")
	start := func(attempt int) error {
		return s.StepStart(ctx, &store.StepStartParams{
			RunID: "r", Name: "build", Attempt: attempt, TokenHash: []byte{0, 1, 2, 255}, Now: at(1), Executor: "cluster",
		})
	}
	wantErr(t, start(0), store.ErrConflict, "StepStart of attempt 0")
	wantErr(t, start(2), store.ErrConflict, "StepStart of attempt 2 first")
	must(t, start(1), "StepStart")
	wantErr(t, start(1), store.ErrConflict, "StepStart of a running attempt again")
	wantErr(t, start(2), store.ErrConflict, "StepStart while an attempt runs")

	st := stepOf(t, s, "r", "build")
	if st.Status != store.StepRunning || st.Attempts != 1 || st.ExitCode != nil {
		t.Fatalf("started step: got %+v", st)
	}
	wantTime(t, st.StartedAt, at(1), "step StartedAt")
	if other := stepOf(t, s, "r", "test"); other.Status != store.StepPending {
		t.Fatalf("other step: got status %s, want pending", other.Status)
	}
	a := attemptOf(t, s, "r", "build", 1)
	if a.RunID != "r" || a.Step != "build" || a.Attempt != 1 || a.Status != store.StepRunning ||
		!bytes.Equal(a.TokenHash, []byte{0, 1, 2, 255}) || len(a.Handle) != 0 || a.ExitCode != nil ||
		len(a.Outputs) != 0 || a.Removed || a.Executor != "cluster" {
		t.Fatalf("started attempt: got %+v", a)
	}
	wantTime(t, a.StartedAt, at(1), "attempt StartedAt")

	must(t, s.StepSetHandle(ctx, &store.StepSetHandleParams{
		RunID: "r", Name: "build", Attempt: 1, Handle: []byte(`{"id":"c1"}`),
	}), "StepSetHandle")
	add := func(attempt int, m map[string]string) error {
		return s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: "build", Attempt: attempt, Outputs: m})
	}
	must(t, add(1, map[string]string{"a": "1", "b": "2"}), "StepOutputsAdd")
	must(t, add(1, map[string]string{"b": "3", "c": ""}), "StepOutputsAdd")
	must(t, add(1, nil), "StepOutputsAdd of nothing")
	a = attemptOf(t, s, "r", "build", 1)
	if string(a.Handle) != `{"id":"c1"}` {
		t.Fatalf("Handle: got %q", a.Handle)
	}
	wantMap(t, a.Outputs, map[string]string{"a": "1", "b": "3", "c": ""}, "merged attempt outputs")
	if st := stepOf(t, s, "r", "build"); len(st.Outputs) != 0 {
		t.Fatalf("outputs committed before the step succeeded: %q", st.Outputs)
	}

	committed := map[string]string{"a": "1", "b": "3", "c": "", "file": "x"}
	finish := func(attempt int, status store.StepStatus) error {
		return s.StepFinish(ctx, &store.StepFinishParams{
			RunID: "r", Name: "build", Attempt: attempt, Status: status,
			ExitCode: intp(0), Outputs: committed, Now: at(2),
		})
	}
	must(t, finish(1, store.StepSucceeded), "StepFinish")
	st = stepOf(t, s, "r", "build")
	if st.Status != store.StepSucceeded || st.Attempts != 1 || st.Error != "" {
		t.Fatalf("finished step: got %+v", st)
	}
	wantExit(t, st.ExitCode, 0, "step")
	wantMap(t, st.Outputs, committed, "committed outputs")
	wantTime(t, st.StartedAt, at(1), "step StartedAt")
	wantTime(t, st.FinishedAt, at(2), "step FinishedAt")
	a = attemptOf(t, s, "r", "build", 1)
	if a.Status != store.StepSucceeded {
		t.Fatalf("finished attempt: got status %s", a.Status)
	}
	wantExit(t, a.ExitCode, 0, "attempt")
	wantTime(t, a.FinishedAt, at(2), "attempt FinishedAt")

	wantErr(t, finish(1, store.StepSucceeded), store.ErrConflict, "StepFinish twice")
	wantErr(t, finish(1, store.StepFailed), store.ErrConflict, "StepFinish of a finished attempt as failed")
	wantErr(t, finish(0, store.StepCanceled), store.ErrConflict, "StepFinish without attempt of a finished step")
	wantErr(t, add(1, map[string]string{"late": "1"}), store.ErrConflict, "StepOutputsAdd after finish")
	wantErr(t, s.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: "r", Name: "build", Attempt: 1, Handle: []byte("h")}),
		store.ErrConflict, "StepSetHandle after finish")
	wantErr(t, start(2), store.ErrConflict, "StepStart of a succeeded step")
	if a := attemptOf(t, s, "r", "build", 1); string(a.Handle) != `{"id":"c1"}` || a.Outputs["late"] != "" {
		t.Fatalf("refused changes altered the attempt: %+v", a)
	}
	if st := stepOf(t, s, "r", "build"); st.Status != store.StepSucceeded || len(st.Outputs) != len(committed) {
		t.Fatalf("refused changes altered the step: %+v", st)
	}
}

func testStepRetry(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "flaky")
	startStep(t, s, "r", "flaky", 1)
	must(t, s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: "flaky", Attempt: 1,
		Outputs: map[string]string{"from1": "x"}}), "StepOutputsAdd")
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "flaky", Attempt: 1,
		Status: store.StepRetrying, ExitCode: intp(3), Error: "exit status 3", Now: at(5)}), "StepFinish retrying")

	st := stepOf(t, s, "r", "flaky")
	if st.Status != store.StepRetrying || st.Attempts != 1 || st.Error != "exit status 3" || len(st.Outputs) != 0 {
		t.Fatalf("retrying step: got %+v", st)
	}
	wantExit(t, st.ExitCode, 3, "retrying step")
	wantTime(t, st.FinishedAt, store.StepRow{}.FinishedAt, "FinishedAt of a retrying step")
	a1 := attemptOf(t, s, "r", "flaky", 1)
	if a1.Status != store.StepFailed || a1.Error != "exit status 3" {
		t.Fatalf("attempt before a retry: got status %s error %q, want failed", a1.Status, a1.Error)
	}
	wantExit(t, a1.ExitCode, 3, "attempt before a retry")
	wantTime(t, a1.FinishedAt, at(5), "attempt FinishedAt")

	wantErr(t, s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: "flaky", Attempt: 1,
		Outputs: map[string]string{"late": "x"}}), store.ErrConflict, "StepOutputsAdd of a failed attempt")
	wantErr(t, s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "flaky", Attempt: 1, Now: at(6)}),
		store.ErrConflict, "StepStart of attempt 1 again")
	wantErr(t, s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "flaky", Attempt: 3, Now: at(6)}),
		store.ErrConflict, "StepStart skipping attempt 2")
	startStep(t, s, "r", "flaky", 2)
	st = stepOf(t, s, "r", "flaky")
	if st.Status != store.StepRunning || st.Attempts != 2 || st.ExitCode != nil || st.Error != "" {
		t.Fatalf("step on its second attempt: got %+v", st)
	}

	// The first attempt is stale now: nothing it reports may land.
	wantErr(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "flaky", Attempt: 1,
		Status: store.StepSucceeded, ExitCode: intp(0), Now: at(7)}), store.ErrConflict, "StepFinish of a stale attempt")
	wantErr(t, s.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: "r", Name: "flaky", Attempt: 1, Handle: []byte("h")}),
		store.ErrConflict, "StepSetHandle of a stale attempt")
	wantErr(t, s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: "flaky", Attempt: 1,
		Outputs: map[string]string{"late": "x"}}), store.ErrConflict, "StepOutputsAdd of a stale attempt")
	if a := attemptOf(t, s, "r", "flaky", 2); len(a.Outputs) != 0 {
		t.Fatalf("second attempt inherited outputs: %q", a.Outputs)
	}

	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "flaky", Attempt: 2,
		Status: store.StepFailed, ExitCode: intp(137), Error: "killed",
		Outputs: map[string]string{"ignored": "x"}, Now: at(8)}), "StepFinish failed")
	st = stepOf(t, s, "r", "flaky")
	if st.Status != store.StepFailed || st.Attempts != 2 || st.Error != "killed" || len(st.Outputs) != 0 {
		t.Fatalf("failed step: got %+v", st)
	}
	wantExit(t, st.ExitCode, 137, "failed step")
	wantTime(t, st.FinishedAt, at(8), "failed step FinishedAt")
	if a := attemptOf(t, s, "r", "flaky", 2); a.Status != store.StepFailed {
		t.Fatalf("second attempt: got status %s, want failed", a.Status)
	}
	if a := attemptOf(t, s, "r", "flaky", 1); a.Status != store.StepFailed || a.Outputs["from1"] != "x" {
		t.Fatalf("first attempt changed: %+v", a)
	}
	wantErr(t, s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "flaky", Attempt: 3, Now: at(9)}),
		store.ErrConflict, "StepStart of a failed step")
}

func testStepFinishWithoutAttempt(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "skipme", "cancelme", "retryme")
	finish := func(step string, status store.StepStatus, attempt int) error {
		return s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: step, Attempt: attempt,
			Status: status, Error: "why", Now: at(4)})
	}

	must(t, finish("skipme", store.StepSkipped, 0), "skip a pending step")
	st := stepOf(t, s, "r", "skipme")
	if st.Status != store.StepSkipped || st.Attempts != 0 || st.Error != "why" || st.ExitCode != nil {
		t.Fatalf("skipped step: got %+v", st)
	}
	wantTime(t, st.FinishedAt, at(4), "skipped FinishedAt")
	wantErr(t, finish("skipme", store.StepSkipped, 0), store.ErrConflict, "skip twice")
	for _, st := range []store.StepStatus{store.StepPending, store.StepRunning, "paused"} {
		if err := finish("retryme", st, 0); err == nil {
			t.Fatalf("StepFinish as %s: got no error", st)
		}
	}
	wantErr(t, s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "skipme", Attempt: 1, Now: at(5)}),
		store.ErrConflict, "StepStart of a skipped step")

	// Canceling a running step without naming its attempt ends both; the
	// attempt reporting afterwards is refused.
	startStep(t, s, "r", "cancelme", 1)
	must(t, finish("cancelme", store.StepCanceled, 0), "cancel a running step")
	if st := stepOf(t, s, "r", "cancelme"); st.Status != store.StepCanceled {
		t.Fatalf("canceled step: got status %s", st.Status)
	}
	a := attemptOf(t, s, "r", "cancelme", 1)
	if a.Status != store.StepCanceled {
		t.Fatalf("attempt of a step canceled without it: got status %s, want canceled", a.Status)
	}
	wantTime(t, a.FinishedAt, at(4), "canceled attempt FinishedAt")
	wantErr(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "cancelme", Attempt: 1,
		Status: store.StepSucceeded, ExitCode: intp(0), Now: at(6)}), store.ErrConflict, "StepFinish of an attempt of a canceled step")
	if st := stepOf(t, s, "r", "cancelme"); st.Status != store.StepCanceled {
		t.Fatalf("refused finish changed the step: status %s", st.Status)
	}

	startStep(t, s, "r", "retryme", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "retryme", Attempt: 1,
		Status: store.StepRetrying, ExitCode: intp(1), Now: at(2)}), "StepFinish retrying")
	must(t, finish("retryme", store.StepCanceled, 0), "cancel a retrying step")
	if st := stepOf(t, s, "r", "retryme"); st.Status != store.StepCanceled || st.Attempts != 1 {
		t.Fatalf("canceled retrying step: got %+v", st)
	}
	wantErr(t, s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "retryme", Attempt: 2, Now: at(5)}),
		store.ErrConflict, "StepStart of a canceled step")
}

func testStepNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "a", "b")
	startStep(t, s, "r", "a", 1)
	for _, k := range []struct{ run, step string }{{"nope", "a"}, {"r", "nope"}} {
		wantErr(t, s.StepStart(ctx, &store.StepStartParams{RunID: k.run, Name: k.step, Attempt: 1, Now: t0}),
			store.ErrNotFound, "StepStart of "+k.run+"/"+k.step)
		wantErr(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: k.run, Name: k.step, Status: store.StepSkipped, Now: t0}),
			store.ErrNotFound, "StepFinish without attempt of "+k.run+"/"+k.step)
	}
	// Attempts never started: attempt 2 of a, attempt 1 of b.
	for _, k := range []struct {
		step    string
		attempt int
	}{{"a", 2}, {"b", 1}, {"nope", 1}} {
		what := fmt.Sprintf("%s attempt %d", k.step, k.attempt)
		wantErr(t, s.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: "r", Name: k.step, Attempt: k.attempt, Handle: []byte("h")}),
			store.ErrNotFound, "StepSetHandle of "+what)
		wantErr(t, s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: k.step, Attempt: k.attempt,
			Outputs: map[string]string{"x": "y"}}), store.ErrNotFound, "StepOutputsAdd of "+what)
		wantErr(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: k.step, Attempt: k.attempt,
			Status: store.StepFailed, Now: t0}), store.ErrNotFound, "StepFinish of "+what)
		wantErr(t, s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "r", Name: k.step, Attempt: k.attempt, Removed: true}),
			store.ErrNotFound, "StepSetCleanup of "+what)
		_, err := s.AttemptGet(ctx, "r", k.step, k.attempt)
		wantErr(t, err, store.ErrNotFound, "AttemptGet of "+what)
		wantErr(t, s.LogAppend(ctx, &store.LogAppendParams{RunID: "r", Step: k.step, Attempt: k.attempt,
			Lines: []store.LogLine{{Time: t0, Stream: "stdout", Text: "x"}}}), store.ErrNotFound, "LogAppend of "+what)
	}
	if st := stepOf(t, s, "r", "a"); st.Status != store.StepRunning {
		t.Fatalf("step a: got status %s, want running", st.Status)
	}
}

func testStepSetCleanup(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "s")
	startStep(t, s, "r", "s", 1)
	if a := attemptOf(t, s, "r", "s", 1); a.Removed || a.CleanupError != "" || a.CleanupTries != 0 {
		t.Fatalf("new attempt: got cleanup %v %q after %d tries, want none", a.Removed, a.CleanupError, a.CleanupTries)
	}
	// Cleanup may be recorded while the attempt runs and after it ended.
	must(t, s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "r", Name: "s", Attempt: 1,
		Error: "busy", Tries: 1}), "StepSetCleanup")
	if a := attemptOf(t, s, "r", "s", 1); a.Removed || a.CleanupError != "busy" || a.CleanupTries != 1 || a.Status != store.StepRunning {
		t.Fatalf("attempt after a failed removal: got %+v", a)
	}
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "s", Attempt: 1,
		Status: store.StepRetrying, ExitCode: intp(1), Now: at(1)}), "StepFinish")
	must(t, s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "r", Name: "s", Attempt: 1,
		Error: "still busy", Tries: 2}), "StepSetCleanup")
	if a := attemptOf(t, s, "r", "s", 1); a.Removed || a.CleanupError != "still busy" || a.CleanupTries != 2 {
		t.Fatalf("attempt after a second failed removal: got %+v", a)
	}
	startStep(t, s, "r", "s", 2)
	must(t, s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "r", Name: "s", Attempt: 1,
		Removed: true, Tries: 3}), "StepSetCleanup of a superseded attempt")
	a := attemptOf(t, s, "r", "s", 1)
	if !a.Removed || a.CleanupError != "" || a.CleanupTries != 3 || a.Status != store.StepFailed {
		t.Fatalf("attempt after removal: got %+v", a)
	}
	// Each attempt counts its own tries, and AttemptList shows them.
	list, err := s.AttemptList(ctx, "r")
	must(t, err, "AttemptList")
	if len(list) != 2 || list[0].CleanupTries != 3 || !list[0].Removed || list[1].CleanupTries != 0 || list[1].Removed {
		t.Fatalf("AttemptList: got %+v", list)
	}
}

func testAttemptListUnremoved(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "a", "b", "c")
	handle := []byte(`{"executor":"docker","id":"x"}`)
	for _, step := range []string{"a", "b", "c"} {
		startStep(t, s, "r", step, 1)
	}
	// a: ended, has a handle, not removed: listed. b: ended, removed: not
	// listed. c: still running: not listed (its runner removes it).
	for _, step := range []string{"a", "b", "c"} {
		must(t, s.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: "r", Name: step, Attempt: 1, Handle: handle}), "StepSetHandle")
	}
	for _, step := range []string{"a", "b"} {
		must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: step, Attempt: 1,
			Status: store.StepFailed, ExitCode: intp(1), Now: at(1)}), "StepFinish")
	}
	must(t, s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "r", Name: "b", Attempt: 1, Removed: true, Tries: 1}), "StepSetCleanup")
	list, err := s.AttemptListUnremoved(ctx)
	must(t, err, "AttemptListUnremoved")
	if len(list) != 1 || list[0].Step != "a" || string(list[0].Handle) != string(handle) {
		t.Fatalf("AttemptListUnremoved: got %+v, want only step a's attempt", list)
	}
}

func testStepFinishRecordsHandle(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "a")
	startStep(t, s, "r", "a", 1)
	handle := []byte(`{"executor":"docker","id":"late"}`)
	// The attempt ended before its handle was recorded on its own.
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "a", Attempt: 1,
		Status: store.StepSucceeded, ExitCode: intp(0), Handle: handle, Now: at(1)}), "StepFinish")
	if a := attemptOf(t, s, "r", "a", 1); string(a.Handle) != string(handle) {
		t.Fatalf("handle after StepFinish = %q, want %q", a.Handle, handle)
	}
	// The separate record, arriving late, is fenced off and changes nothing.
	wantErr(t, s.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: "r", Name: "a", Attempt: 1, Handle: []byte(`{}`)}), store.ErrConflict, "late StepSetHandle")
	if a := attemptOf(t, s, "r", "a", 1); string(a.Handle) != string(handle) {
		t.Fatalf("handle after a late StepSetHandle = %q, want %q", a.Handle, handle)
	}
}
