package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// claim claims runs for owner at sec, leased for 10 s, and returns their IDs.
func claim(t *testing.T, s store.Store, owner string, sec int, p store.RunClaimParams) []*store.RunRow {
	t.Helper()
	p.Owner, p.Now, p.Until = owner, at(sec), at(sec+10)
	rows, err := s.RunClaim(t.Context(), &p)
	must(t, err, "RunClaim for "+owner)
	return rows
}

// testRunClaim: unheld unfinished runs are claimed oldest first with epoch
// 1; a held lease is not claimed until it ends; a claim raises the epoch;
// finished runs are never claimed; Limit, IDs and Steal bound the claim.
func testRunClaim(t *testing.T, s store.Store) {
	createRun(t, s, "r1", "p", at(1), "a")
	createRun(t, s, "r2", "p", at(2), "a")
	createRun(t, s, "r3", "p", at(3), "a")
	createRun(t, s, "done", "p", at(0), "a")
	must(t, s.RunSetStatus(t.Context(), &store.RunSetStatusParams{ID: "done", Status: store.RunSucceeded, Now: at(4)}), "end run")

	got := claim(t, s, "A", 5, store.RunClaimParams{Limit: 2})
	if ids := runIDs(got); !slices.Equal(ids, []string{"r1", "r2"}) {
		t.Fatalf("first claim of two: got %q, want r1, r2 (oldest first)", ids)
	}
	for _, r := range got {
		if r.Lease.Owner != "A" || r.Lease.Epoch != 1 {
			t.Errorf("claimed %s: lease %+v, want owner A epoch 1", r.ID, r.Lease)
		}
		wantTime(t, r.Lease.Until, at(15), "claimed "+r.ID+" lease end")
	}
	if ids := runIDs(claim(t, s, "A", 5, store.RunClaimParams{})); !slices.Equal(ids, []string{"r3"}) {
		t.Fatalf("A claims again: got %q, want only r3 (A holds the others)", ids)
	}
	if got := claim(t, s, "B", 14, store.RunClaimParams{}); len(got) != 0 {
		t.Fatalf("B claims before A's leases end: got %q", runIDs(got))
	}
	got = claim(t, s, "B", 15, store.RunClaimParams{IDs: []string{"r2", "done"}})
	if len(got) != 1 || got[0].ID != "r2" || got[0].Lease.Epoch != 2 || got[0].Lease.Owner != "B" {
		t.Fatalf("B claims r2 and a finished run once A's lease ended: got %+v, want r2 at epoch 2 only", got)
	}
	r, err := s.RunGet(t.Context(), "r2")
	must(t, err, "RunGet r2")
	if r.Lease.Owner != "B" || r.Lease.Epoch != 2 {
		t.Fatalf("RunGet after B's claim: lease %+v", r.Lease)
	}
	if got := claim(t, s, "D", 15, store.RunClaimParams{Executors: []string{"docker", "swarm"}}); len(got) != 0 {
		t.Fatalf("D, without the runs' executor, claims %q", runIDs(got))
	}
	if got := claim(t, s, "D", 15, store.RunClaimParams{Executors: []string{"docker", "noop"}, Limit: 1}); len(got) != 1 || got[0].ID != "r1" {
		t.Fatalf("D, with the runs' executor, claims %q, want r1", runIDs(got))
	}
	got = claim(t, s, "C", 16, store.RunClaimParams{Steal: true})
	if ids := runIDs(got); !slices.Equal(ids, []string{"r1", "r2", "r3"}) {
		t.Fatalf("C steals: got %q, want every unfinished run", ids)
	}
	if got[0].Lease.Epoch != 3 || got[1].Lease.Epoch != 3 {
		t.Errorf("r1, r2 after three claims: epochs %d, %d, want 3", got[0].Lease.Epoch, got[1].Lease.Epoch)
	}
}

// testLeaseRenew: a server renews what it holds, ended or not, and no
// longer holds what another claimed; a renewal reports cancel requests.
func testLeaseRenew(t *testing.T, s store.Store) {
	createRun(t, s, "r1", "p", at(1), "a")
	createRun(t, s, "r2", "p", at(2), "a")
	claim(t, s, "A", 5, store.RunClaimParams{})
	_, err := s.RunRequestCancel(t.Context(), &store.RunRequestCancelParams{ID: "r1", Now: at(6)})
	must(t, err, "RunRequestCancel")
	held, err := s.LeaseRenew(t.Context(), &store.LeaseRenewParams{Owner: "A", Until: at(40)})
	must(t, err, "LeaseRenew")
	slices.SortFunc(held, func(a, b store.LeaseHeld) int { return cmpString(a.RunID, b.RunID) })
	want := []store.LeaseHeld{{RunID: "r1", Epoch: 1, CancelRequested: true}, {RunID: "r2", Epoch: 1}}
	if !slices.Equal(held, want) {
		t.Fatalf("LeaseRenew: got %+v, want %+v", held, want)
	}
	if got := claim(t, s, "B", 39, store.RunClaimParams{}); len(got) != 0 {
		t.Fatalf("B claims runs whose leases A renewed: %q", runIDs(got))
	}
	// A's renewal came late: its lease ended at 40, B claimed r2 at 41.
	claim(t, s, "B", 41, store.RunClaimParams{IDs: []string{"r2"}})
	held, err = s.LeaseRenew(t.Context(), &store.LeaseRenewParams{Owner: "A", Until: at(60)})
	must(t, err, "LeaseRenew after losing r2")
	if len(held) != 1 || held[0].RunID != "r1" {
		t.Fatalf("LeaseRenew after B claimed r2: got %+v, want r1 only", held)
	}
	must(t, s.RunSetStatus(t.Context(), &store.RunSetStatusParams{ID: "r1", Status: store.RunCanceled, Now: at(42), Epoch: 1}), "end r1")
	held, err = s.LeaseRenew(t.Context(), &store.LeaseRenewParams{Owner: "A", Until: at(60)})
	must(t, err, "LeaseRenew after r1 ended")
	if len(held) != 0 {
		t.Fatalf("LeaseRenew holds finished runs: %+v", held)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// testLeaseRelease: released runs are claimed at once by another server,
// and a release of runs one does not hold changes nothing.
func testLeaseRelease(t *testing.T, s store.Store) {
	createRun(t, s, "r1", "p", at(1), "a")
	createRun(t, s, "r2", "p", at(2), "a")
	claim(t, s, "A", 5, store.RunClaimParams{})
	must(t, s.LeaseRelease(t.Context(), &store.LeaseReleaseParams{Owner: "B", RunIDs: []string{"r1", "r2"}}), "B releases A's runs")
	if got := claim(t, s, "B", 6, store.RunClaimParams{}); len(got) != 0 {
		t.Fatalf("B claims after releasing what it does not hold: %q", runIDs(got))
	}
	must(t, s.LeaseRelease(t.Context(), &store.LeaseReleaseParams{Owner: "A", RunIDs: []string{"r1"}}), "A releases r1")
	must(t, s.LeaseRelease(t.Context(), &store.LeaseReleaseParams{Owner: "A"}), "A releases nothing")
	got := claim(t, s, "B", 6, store.RunClaimParams{})
	if len(got) != 1 || got[0].ID != "r1" || got[0].Lease.Epoch != 2 {
		t.Fatalf("B claims after A released r1: got %+v, want r1 at epoch 2", got)
	}
}

// testFenced: once another server claimed a run, every run write carrying
// the old epoch is refused and changes nothing; the new epoch writes.
func testFenced(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", at(1), "a", "b")
	claim(t, s, "A", 2, store.RunClaimParams{})
	must(t, s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "a", Attempt: 1, Now: at(3), Epoch: 1}), "StepStart under epoch 1")
	claim(t, s, "B", 20, store.RunClaimParams{})

	old := map[string]error{
		"RunSetStatus": s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunFailed, Now: at(21), Epoch: 1}),
		"StepStart":    s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "b", Attempt: 1, Now: at(21), Epoch: 1}),
		"StepSetHandle": s.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: "r", Name: "a", Attempt: 1,
			Handle: []byte(`{"id":"x"}`), Epoch: 1}),
		"StepFinish": s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "a", Attempt: 1,
			Status: store.StepSucceeded, Outputs: map[string]string{"K": "v"}, Now: at(21), Epoch: 1}),
		"StepSetCleanup": s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "r", Name: "a", Attempt: 1, Removed: true, Epoch: 1}),
		"LogAppend": s.LogAppend(ctx, &store.LogAppendParams{RunID: "r", Step: "a", Attempt: 1, Epoch: 1,
			Lines: []store.LogLine{{Time: at(21), Stream: "stdout", Text: "late"}}}),
	}
	for op, err := range old {
		if !errors.Is(err, store.ErrFenced) {
			t.Errorf("%s under the lost epoch: got %v, want ErrFenced", op, err)
		}
	}
	run, err := s.RunGet(ctx, "r")
	must(t, err, "RunGet")
	if run.Status != store.RunQueued {
		t.Errorf("run status after fenced writes: %s", run.Status)
	}
	if st := stepOf(t, s, "r", "a"); st.Status != store.StepRunning || len(st.Outputs) != 0 {
		t.Errorf("step a after fenced writes: %s outputs %q", st.Status, st.Outputs)
	}
	if st := stepOf(t, s, "r", "b"); st.Status != store.StepPending {
		t.Errorf("step b after a fenced start: %s", st.Status)
	}
	if a := attemptOf(t, s, "r", "a", 1); len(a.Handle) != 0 || a.Removed {
		t.Errorf("attempt after fenced writes: handle %q removed %v", a.Handle, a.Removed)
	}
	logs, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "a"})
	must(t, err, "LogList")
	if len(logs) != 0 {
		t.Errorf("fenced log lines were stored: %d", len(logs))
	}
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "a", Attempt: 1,
		Status: store.StepSucceeded, Now: at(22), Epoch: 2}), "StepFinish under epoch 2")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunRunning, Now: at(22), Epoch: 2}), "RunSetStatus under epoch 2")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunRunning, Now: at(22)}), "RunSetStatus without epoch")
}

// testClaimRace: servers claiming at once never claim one run twice.
func testClaimRace(t *testing.T, s store.Store) {
	const runs, servers = 40, 4
	for i := range runs {
		createRun(t, s, "r"+string(rune('a'+i/26))+string(rune('a'+i%26)), "p", at(i), "a")
	}
	var (
		mu    sync.Mutex
		owner = map[string]string{}
		wg    sync.WaitGroup
	)
	for i := range servers {
		name := string(rune('A' + i))
		wg.Go(func() {
			for range 20 {
				rows, err := s.RunClaim(t.Context(), &store.RunClaimParams{Owner: name, Now: at(100), Until: at(200), Limit: 3})
				if err != nil {
					t.Errorf("RunClaim %s: %v", name, err)
					return
				}
				mu.Lock()
				for _, r := range rows {
					if prev, ok := owner[r.ID]; ok {
						t.Errorf("run %s claimed by %s and %s", r.ID, prev, name)
					}
					owner[r.ID] = name
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owner) != runs {
		t.Errorf("%d of %d runs claimed", len(owner), runs)
	}
}

// testRunCreateOwned: a run created with an owner is held by it at epoch
// 1, and is not claimed by another until its lease ends.
func testRunCreateOwned(t *testing.T, s store.Store) {
	r, err := s.RunCreate(t.Context(), &store.RunCreateParams{
		ID: "r", Pipeline: "p", Revision: 1, Executor: "noop", Steps: []string{"a"}, Now: at(1),
		Owner: "A", LeaseUntil: at(11),
	})
	must(t, err, "RunCreate")
	if r.Lease.Owner != "A" || r.Lease.Epoch != 1 {
		t.Fatalf("RunCreate with an owner: lease %+v", r.Lease)
	}
	wantTime(t, r.Lease.Until, at(11), "lease end")
	got, err := s.RunGet(t.Context(), "r")
	must(t, err, "RunGet")
	if got.Lease != r.Lease {
		t.Fatalf("RunGet: lease %+v, RunCreate said %+v", got.Lease, r.Lease)
	}
	if rows := claim(t, s, "B", 10, store.RunClaimParams{}); len(rows) != 0 {
		t.Fatalf("B claims a run A holds: %q", runIDs(rows))
	}
	if rows := claim(t, s, "B", 11, store.RunClaimParams{}); len(rows) != 1 || rows[0].Lease.Epoch != 2 {
		t.Fatalf("B claims once A's lease ended: %+v", rows)
	}
}

// testGate: a queued run is admitted to running only while its pipeline's
// gate has room and no older run of it is queued; a refusal changes
// nothing, and other pipelines have gates of their own.
func testGate(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r1", "p", at(1), "a")
	createRun(t, s, "r2", "p", at(2), "a")
	createRun(t, s, "r3", "p", at(3), "a")
	createRun(t, s, "q1", "q", at(4), "a")
	gate := &store.Gate{Limit: 1}
	set := func(id string, g *store.Gate) error {
		return s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: store.RunRunning, Now: at(10), Gate: g})
	}
	wantErr(t, set("r2", gate), store.ErrBusy, "r2 admitted before the older r1")
	if r, _ := s.RunGet(ctx, "r2"); r.Status != store.RunQueued || !r.StartedAt.IsZero() {
		t.Fatalf("r2 after a refused admission: %s, started %v", r.Status, r.StartedAt)
	}
	must(t, set("r1", gate), "admit r1")
	must(t, set("r1", gate), "r1 again: it was admitted")
	must(t, set("q1", gate), "q1: another pipeline's gate")
	wantErr(t, set("r2", gate), store.ErrBusy, "r2 while r1 runs at limit 1")
	must(t, set("r2", &store.Gate{Limit: 2}), "r2 at limit 2")
	wantErr(t, set("r3", &store.Gate{Serial: true}), store.ErrBusy, "serial r3 while others run")
	for _, id := range []string{"r1", "r2"} {
		must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: store.RunSucceeded, Now: at(11)}), "end "+id)
	}
	must(t, set("r3", &store.Gate{Serial: true}), "serial r3 once none runs")
}

// testMaxRunning: an attempt starts only while fewer than MaxRunning run in
// the whole store.
func testMaxRunning(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r1", "p", at(1), "a", "b")
	createRun(t, s, "r2", "q", at(2), "a")
	start := func(run, step string) error {
		return s.StepStart(ctx, &store.StepStartParams{RunID: run, Name: step, Attempt: 1, Now: at(5), MaxRunning: 2})
	}
	must(t, start("r1", "a"), "first attempt")
	must(t, start("r2", "a"), "second attempt, another run")
	wantErr(t, start("r1", "b"), store.ErrBusy, "third attempt at most 2")
	if st := stepOf(t, s, "r1", "b"); st.Status != store.StepPending || st.Attempts != 0 {
		t.Fatalf("step after a refused start: %s, %d attempts", st.Status, st.Attempts)
	}
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r2", Name: "a", Attempt: 1, Status: store.StepSucceeded, Now: at(6)}), "end one")
	must(t, start("r1", "b"), "third attempt once one ended")
}
