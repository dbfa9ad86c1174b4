package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// testApprovalLifecycle: an approval opens once, keeps its first start and
// deadline when opened again (a restart), takes one decision with its
// values, and shows in the run's list.
func testApprovalLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", at(1), "build", "gate")
	_, err := s.ApprovalGet(ctx, "r", "gate")
	wantErr(t, err, store.ErrNotFound, "ApprovalGet before open")

	a, err := s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "gate", Message: "Deploy to prod? ünïcode", Since: at(2), Deadline: at(100)})
	must(t, err, "ApprovalOpen")
	if a.Message != "Deploy to prod? ünïcode" || a.Decided() || a.RunID != "r" || a.Step != "gate" {
		t.Fatalf("opened approval: %+v", a)
	}
	wantTime(t, a.Since, at(2), "since")
	wantTime(t, a.Deadline, at(100), "deadline")

	again, err := s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "gate", Message: "other", Since: at(50), Deadline: at(150)})
	must(t, err, "ApprovalOpen again")
	if again.Message != a.Message {
		t.Errorf("a second open changed the message: %q", again.Message)
	}
	wantTime(t, again.Since, at(2), "since after a second open")
	wantTime(t, again.Deadline, at(100), "deadline after a second open")

	d, err := s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "gate", Approve: true, By: "alice", Reason: "ship it",
		Values: map[string]string{"TARGET": "prod", "EMPTY": ""}, Now: at(10)})
	must(t, err, "ApprovalDecide")
	if !d.Approved || d.DecidedBy != "alice" || d.Reason != "ship it" {
		t.Errorf("decided approval: %+v", d)
	}
	wantTime(t, d.DecidedAt, at(10), "decided at (returned)")

	got, err := s.ApprovalGet(ctx, "r", "gate")
	must(t, err, "ApprovalGet")
	if !got.Decided() || !got.Approved || got.DecidedBy != "alice" || got.Reason != "ship it" {
		t.Errorf("stored decision: %+v", got)
	}
	wantTime(t, got.DecidedAt, at(10), "decided at")
	wantTime(t, got.Since, at(2), "since after the decision")
	wantMap(t, got.Values, map[string]string{"TARGET": "prod", "EMPTY": ""}, "values")

	list, err := s.ApprovalList(ctx, "r")
	must(t, err, "ApprovalList")
	if len(list) != 1 || list[0].Step != "gate" || !list[0].Approved {
		t.Errorf("ApprovalList: %+v", list)
	}
	none, err := s.ApprovalList(ctx, "missing")
	must(t, err, "ApprovalList of a missing run")
	if len(none) != 0 {
		t.Errorf("approvals of a missing run: %+v", none)
	}
}

// testApprovalDecideOnce: a second decision is a conflict that names the
// first and changes nothing, and so is one when a rejection came first.
func testApprovalDecideOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", at(1), "gate")
	_, err := s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "gate", Since: at(2)})
	must(t, err, "ApprovalOpen")
	_, err = s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "gate", By: "bob", Reason: "not today",
		Values: map[string]string{"IGNORED": "x"}, Now: at(3)})
	must(t, err, "reject")
	_, err = s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "gate", Approve: true, By: "alice", Now: at(4)})
	wantErr(t, err, store.ErrConflict, "approve after a rejection")
	var closed *store.ApprovalClosedError
	if !errors.As(err, &closed) || !strings.Contains(closed.Why, "rejected by bob") {
		t.Errorf("second decision: got %v, want an ApprovalClosedError naming the rejection", err)
	}
	got, err := s.ApprovalGet(ctx, "r", "gate")
	must(t, err, "ApprovalGet")
	if got.Approved || got.DecidedBy != "bob" || got.Reason != "not today" || len(got.Values) != 0 {
		t.Errorf("after a refused second decision: %+v", got)
	}
	wantTime(t, got.DecidedAt, at(3), "decided at")
}

// testApprovalDecideRace: of decisions made at once, exactly one is
// recorded, and the stored one is the one that was told so.
func testApprovalDecideRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", at(1), "gate")
	_, err := s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "gate", Since: at(2)})
	must(t, err, "ApprovalOpen")
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []string
		errs []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			by := string(rune('a' + i))
			_, err := s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "gate", Approve: i%2 == 0, By: by, Now: at(3 + i)})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won = append(won, by)
			} else if !errors.Is(err, store.ErrConflict) {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 || len(won) != 1 {
		t.Fatalf("concurrent decisions: %d recorded (%v), errors %v; want exactly one recorded and the rest ErrConflict", len(won), won, errs)
	}
	got, err := s.ApprovalGet(ctx, "r", "gate")
	must(t, err, "ApprovalGet")
	if got.DecidedBy != won[0] {
		t.Errorf("stored decision is by %q, the one told it won is %q", got.DecidedBy, won[0])
	}
}

// testApprovalClosed: nothing is decided before the step waits, after its
// deadline, or after its step ended; an unknown step cannot be opened.
func testApprovalClosed(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", at(1), "early", "late", "ended")
	_, err := s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "early", Approve: true, By: "a", Now: at(2)})
	wantErr(t, err, store.ErrNotFound, "decide before the step waits")
	_, err = s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "missing", Step: "x", Approve: true, By: "a", Now: at(2)})
	wantErr(t, err, store.ErrNotFound, "decide on a missing run")
	_, err = s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "nope", Since: at(2)})
	wantErr(t, err, store.ErrNotFound, "open on a missing step")

	_, err = s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "late", Since: at(2), Deadline: at(10)})
	must(t, err, "open late")
	_, err = s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "late", Approve: true, By: "a", Now: at(11)})
	wantErr(t, err, store.ErrConflict, "decide after the deadline")
	_, err = s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "late", Approve: true, By: "a", Now: at(10)})
	must(t, err, "decide at the deadline")

	_, err = s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "ended", Since: at(2)})
	must(t, err, "open ended")
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "ended", Status: store.StepCanceled, Error: "canceled by request", Now: at(3)}), "StepFinish")
	_, err = s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "ended", Approve: true, By: "a", Now: at(4)})
	wantErr(t, err, store.ErrConflict, "decide after the step ended")
	got, err := s.ApprovalGet(ctx, "r", "ended")
	must(t, err, "ApprovalGet")
	if got.Decided() {
		t.Errorf("a refused decision was stored: %+v", got)
	}
}

// testApprovalInvalid: text no store can keep alike is refused before
// anything is written, and an open under a lost epoch is fenced.
func testApprovalInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", at(1), "gate")
	bad := []*store.ApprovalOpenParams{
		{RunID: "r", Step: "gate", Message: "nul\x00", Since: at(2)},
		{RunID: "r", Step: "gate", Message: "\xff", Since: at(2)},
		{RunID: "r", Step: "gate", Message: strings.Repeat("m", store.MaxApprovalText+1), Since: at(2)},
		{RunID: "r", Step: "gate"},
	}
	for i, p := range bad {
		if _, err := s.ApprovalOpen(ctx, p); err == nil {
			t.Errorf("bad open %d was accepted", i)
		}
	}
	if _, err := s.ApprovalGet(ctx, "r", "gate"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused open stored an approval: %v", err)
	}
	_, err := s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "gate", Since: at(2)})
	must(t, err, "ApprovalOpen")
	for i, p := range []*store.ApprovalDecideParams{
		{RunID: "r", Step: "gate", By: "a\x00b", Now: at(3)},
		{RunID: "r", Step: "gate", By: "a", Reason: "\xfe", Now: at(3)},
		{RunID: "r", Step: "gate", By: "a"},
	} {
		if _, err := s.ApprovalDecide(ctx, p); err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("bad decision %d: got %v, want a refusal that is not a conflict", i, err)
		}
	}
	if got, err := s.ApprovalGet(ctx, "r", "gate"); err != nil || got.Decided() {
		t.Fatalf("after refused decisions: %+v, %v", got, err)
	}

	createRun(t, s, "f", "p", at(1), "gate")
	claim(t, s, "A", 2, store.RunClaimParams{IDs: []string{"f"}})
	claim(t, s, "B", 20, store.RunClaimParams{IDs: []string{"f"}})
	_, err = s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "f", Step: "gate", Since: at(21), Epoch: 1})
	wantErr(t, err, store.ErrFenced, "open under a lost epoch")
	if _, err := s.ApprovalGet(ctx, "f", "gate"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a fenced open stored an approval: %v", err)
	}
}

// testApprovalPruned: pruning a run takes its approvals with it.
func testApprovalPruned(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", at(1), "gate")
	_, err := s.ApprovalOpen(ctx, &store.ApprovalOpenParams{RunID: "r", Step: "gate", Since: at(2)})
	must(t, err, "ApprovalOpen")
	_, err = s.ApprovalDecide(ctx, &store.ApprovalDecideParams{RunID: "r", Step: "gate", Approve: true, By: "a", Values: map[string]string{"K": "v"}, Now: at(3)})
	must(t, err, "ApprovalDecide")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunSucceeded, Now: at(4)}), "RunSetStatus")
	n, err := s.RunPrune(ctx, &store.RunPruneParams{Before: at(5)})
	must(t, err, "RunPrune")
	if n != 1 {
		t.Fatalf("pruned %d runs, want 1", n)
	}
	list, err := s.ApprovalList(ctx, "r")
	must(t, err, "ApprovalList")
	if len(list) != 0 {
		t.Errorf("approvals outlived their pruned run: %+v", list)
	}
	_, err = s.ApprovalGet(ctx, "r", "gate")
	wantErr(t, err, store.ErrNotFound, "ApprovalGet after prune")
}
