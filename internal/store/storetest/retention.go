package storetest

import (
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// finishedRun makes a run with one step whose attempt printed a line, ended
// as status at time sec.
func finishedRun(t *testing.T, s store.Store, id string, status store.RunStatus, sec int) {
	t.Helper()
	ctx := t.Context()
	createRun(t, s, id, "p", at(0), "s")
	startStep(t, s, id, "s", 1)
	must(t, s.LogAppend(ctx, &store.LogAppendParams{RunID: id, Step: "s", Attempt: 1,
		Lines: []store.LogLine{{Time: at(1), Stream: "stdout", Text: "hello from " + id}}}), "LogAppend")
	stepStatus := store.StepSucceeded
	if status != store.RunSucceeded {
		stepStatus = store.StepFailed
	}
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: id, Name: "s", Attempt: 1, Status: stepStatus,
		ExitCode: intp(0), Now: at(sec)}), "StepFinish")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: status, Now: at(sec)}), "RunSetStatus")
}

func testRunPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	finishedRun(t, s, "old-ok", store.RunSucceeded, 10)
	finishedRun(t, s, "old-failed", store.RunFailed, 20)
	finishedRun(t, s, "at-cut", store.RunSucceeded, 50) // not before the cut
	finishedRun(t, s, "new", store.RunCanceled, 100)
	// Unfinished runs are kept however old.
	createRun(t, s, "queued", "p", at(-100), "s")
	createRun(t, s, "running", "p", at(-100), "s")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "running", Status: store.RunRunning, Now: at(-99)}), "RunSetStatus")
	startStep(t, s, "running", "s", 1)

	n, err := s.RunPrune(ctx, &store.RunPruneParams{Before: at(50)})
	must(t, err, "RunPrune")
	if n != 2 {
		t.Fatalf("RunPrune: got %d runs deleted, want 2", n)
	}
	for _, id := range []string{"old-ok", "old-failed"} {
		_, err := s.RunGet(ctx, id)
		wantErr(t, err, store.ErrNotFound, "RunGet of a pruned run")
		steps, err := s.StepList(ctx, id)
		must(t, err, "StepList of a pruned run")
		attempts, err := s.AttemptList(ctx, id)
		must(t, err, "AttemptList of a pruned run")
		logs, err := s.LogList(ctx, &store.LogListParams{RunID: id, Step: "s"})
		must(t, err, "LogList of a pruned run")
		if len(steps)+len(attempts)+len(logs) != 0 {
			t.Fatalf("pruned run %s: %d steps, %d attempts, %d log lines left", id, len(steps), len(attempts), len(logs))
		}
		_, err = s.AttemptGet(ctx, id, "s", 1)
		wantErr(t, err, store.ErrNotFound, "AttemptGet of a pruned run")
	}
	for _, id := range []string{"at-cut", "new", "queued", "running"} {
		if _, err := s.RunGet(ctx, id); err != nil {
			t.Fatalf("run %s should be kept: %v", id, err)
		}
		if len(stepsOf(t, s, id)) != 1 {
			t.Fatalf("run %s lost its step", id)
		}
	}
	logs, err := s.LogList(ctx, &store.LogListParams{RunID: "new", Step: "s"})
	must(t, err, "LogList of a kept run")
	if len(logs) != 1 || logs[0].Text != "hello from new" {
		t.Fatalf("kept run's logs: got %+v", logs)
	}

	n, err = s.RunPrune(ctx, &store.RunPruneParams{Before: at(50)})
	must(t, err, "RunPrune again")
	if n != 0 {
		t.Fatalf("RunPrune again: got %d, want 0", n)
	}
	// A cut after everything still spares the unfinished runs.
	n, err = s.RunPrune(ctx, &store.RunPruneParams{Before: at(1 << 20)})
	must(t, err, "RunPrune of everything")
	if n != 2 {
		t.Fatalf("RunPrune of everything: got %d, want 2", n)
	}
	list, err := s.RunList(ctx, &store.RunListParams{})
	must(t, err, "RunList")
	if len(list) != 2 {
		t.Fatalf("after pruning everything: %d runs left, want the 2 unfinished", len(list))
	}
}

// testRunPruneMany prunes more runs than one batch of an implementation is
// likely to hold.
func testRunPruneMany(t *testing.T, s store.Store) {
	ctx := t.Context()
	const runs = 130
	for i := range runs {
		id := "r" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		createRun(t, s, id, "p", at(0), "s")
		must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: store.RunSucceeded, Now: at(1 + i)}), "RunSetStatus")
	}
	n, err := s.RunPrune(ctx, &store.RunPruneParams{Before: at(1 + runs)})
	must(t, err, "RunPrune")
	if n != runs {
		t.Fatalf("RunPrune: got %d, want %d", n, runs)
	}
}

func stepsOf(t *testing.T, s store.Store, run string) []*store.StepRow {
	t.Helper()
	steps, err := s.StepList(t.Context(), run)
	must(t, err, "StepList")
	return steps
}

func testRunRequestCancel(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "s")
	if r, err := s.RunGet(ctx, "r"); err != nil || !r.CancelRequestedAt.IsZero() {
		t.Fatalf("new run: CancelRequestedAt %v, err %v; want zero", r.CancelRequestedAt, err)
	}
	r, err := s.RunRequestCancel(ctx, &store.RunRequestCancelParams{ID: "r", Now: at(3)})
	must(t, err, "RunRequestCancel")
	wantTime(t, r.CancelRequestedAt, at(3), "returned CancelRequestedAt")
	if r.Status != store.RunQueued {
		t.Fatalf("a cancel request changed the status to %s", r.Status)
	}
	// The first request's time stays.
	r, err = s.RunRequestCancel(ctx, &store.RunRequestCancelParams{ID: "r", Now: at(9)})
	must(t, err, "RunRequestCancel again")
	wantTime(t, r.CancelRequestedAt, at(3), "CancelRequestedAt after a second request")
	got, err := s.RunGet(ctx, "r")
	must(t, err, "RunGet")
	wantTime(t, got.CancelRequestedAt, at(3), "stored CancelRequestedAt")
	list, err := s.RunList(ctx, &store.RunListParams{})
	must(t, err, "RunList")
	wantTime(t, list[0].CancelRequestedAt, at(3), "listed CancelRequestedAt")

	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunCanceled, Now: at(10)}), "RunSetStatus")
	_, err = s.RunRequestCancel(ctx, &store.RunRequestCancelParams{ID: "r", Now: at(11)})
	wantErr(t, err, store.ErrConflict, "RunRequestCancel of a canceled run")
	_, err = s.RunRequestCancel(ctx, &store.RunRequestCancelParams{ID: "nope", Now: at(11)})
	wantErr(t, err, store.ErrNotFound, "RunRequestCancel of a missing run")
}

// testRunEndEndsLeftovers checks that a run's end ends, in the same change,
// what had not ended: no terminal run keeps a pending or running step, or a
// running attempt, whatever writes were lost before.
func testRunEndEndsLeftovers(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "done", "running", "pending", "retrying")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunRunning, Now: at(1)}), "RunSetStatus running")
	startStep(t, s, "r", "done", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "done", Attempt: 1, Status: store.StepFailed,
		ExitCode: intp(2), Error: "exited with code 2", Now: at(2)}), "StepFinish")
	startStep(t, s, "r", "running", 1)
	startStep(t, s, "r", "retrying", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "retrying", Attempt: 1, Status: store.StepRetrying,
		ExitCode: intp(1), Error: "exited with code 1", Now: at(2)}), "StepFinish retrying")

	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunFailed, Error: "step failed", Now: at(5)}), "RunSetStatus failed")
	for _, st := range stepsOf(t, s, "r") {
		want := store.StepCanceled
		if st.Name == "done" {
			want = store.StepFailed
		}
		if st.Status != want {
			t.Fatalf("step %s of the ended run: got %s, want %s", st.Name, st.Status, want)
		}
		if st.Name != "done" {
			wantTime(t, st.FinishedAt, at(5), "FinishedAt of step "+st.Name)
			if st.Error == "" {
				t.Fatalf("step %s was ended by its run without a reason", st.Name)
			}
		}
	}
	if st := stepOf(t, s, "r", "done"); st.Error != "exited with code 2" {
		t.Fatalf("an ended step's reason changed: %q", st.Error)
	}
	attempts, err := s.AttemptList(ctx, "r")
	must(t, err, "AttemptList")
	for _, a := range attempts {
		if a.Status == store.StepRunning {
			t.Fatalf("attempt %d of step %s still running in an ended run", a.Attempt, a.Step)
		}
	}
	if a := attemptOf(t, s, "r", "running", 1); a.Status != store.StepCanceled {
		t.Fatalf("the running attempt: got %s, want canceled", a.Status)
	}
	// The late report of that attempt is refused.
	wantErr(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "running", Attempt: 1,
		Status: store.StepSucceeded, ExitCode: intp(0), Now: at(6)}), store.ErrConflict, "StepFinish after the run ended")
}

// testLogBytes checks the byte counts an attempt keeps of its log.
func testLogBytes(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "s")
	startStep(t, s, "r", "s", 1)
	appendLog := func(dropped int64, texts ...string) error {
		p := &store.LogAppendParams{RunID: "r", Step: "s", Attempt: 1, Dropped: dropped}
		for _, text := range texts {
			p.Lines = append(p.Lines, store.LogLine{Time: at(1), Stream: "stdout", Text: text})
		}
		return s.LogAppend(ctx, p)
	}
	a := attemptOf(t, s, "r", "s", 1)
	if a.LogBytes != 0 || a.LogDropped != 0 {
		t.Fatalf("new attempt: LogBytes %d LogDropped %d, want 0 0", a.LogBytes, a.LogDropped)
	}
	must(t, appendLog(0, "abc", "ünï"), "LogAppend")
	must(t, appendLog(0, ""), "LogAppend of an empty line")
	a = attemptOf(t, s, "r", "s", 1)
	if a.LogBytes != int64(3+len("ünï")) || a.LogDropped != 0 {
		t.Fatalf("after two appends: LogBytes %d LogDropped %d, want %d 0", a.LogBytes, a.LogDropped, 3+len("ünï"))
	}
	must(t, appendLog(1000, "baton: log cut"), "LogAppend with Dropped")
	must(t, appendLog(0, "tail"), "LogAppend after the cut")
	a = attemptOf(t, s, "r", "s", 1)
	if a.LogDropped != 1000 {
		t.Fatalf("LogDropped: got %d, want 1000 (kept by a later append without Dropped)", a.LogDropped)
	}
	must(t, appendLog(5000), "LogAppend of Dropped alone")
	if a := attemptOf(t, s, "r", "s", 1); a.LogDropped != 5000 {
		t.Fatalf("LogDropped: got %d, want 5000", a.LogDropped)
	}
	wantErr(t, s.LogAppend(ctx, &store.LogAppendParams{RunID: "r", Step: "s", Attempt: 2, Dropped: 1}),
		store.ErrNotFound, "LogAppend of Dropped for a missing attempt")
}

// testRunPruneKeepsUnremoved: a run whose container is not known to be
// removed keeps its record, which is how the reaper finds what to remove.
func testRunPruneKeepsUnremoved(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "left", "p", at(0), "s")
	startStep(t, s, "left", "s", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "left", Name: "s", Attempt: 1, Status: store.StepSucceeded,
		ExitCode: intp(0), Handle: []byte(`{"executor":"docker","id":"c1"}`), Now: at(10)}), "StepFinish")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "left", Status: store.RunSucceeded, Now: at(10)}), "RunSetStatus")

	n, err := s.RunPrune(ctx, &store.RunPruneParams{Before: at(100)})
	must(t, err, "RunPrune")
	if n != 0 {
		t.Fatalf("RunPrune deleted %d runs; the run whose container is not removed must stay", n)
	}
	must(t, s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "left", Name: "s", Attempt: 1, Removed: true, Tries: 1}), "StepSetCleanup")
	n, err = s.RunPrune(ctx, &store.RunPruneParams{Before: at(100)})
	must(t, err, "RunPrune after removal")
	if n != 1 {
		t.Fatalf("RunPrune after the container was removed: %d runs deleted, want 1", n)
	}
}
