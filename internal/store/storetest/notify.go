package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// The outbox of run notifications ([store.Outbox]): rows enter only with the
// run's end, in its transaction, and each is claimed by one server at a time.

func outbox(t *testing.T, s store.Store) store.Outbox {
	t.Helper()
	o, ok := s.(store.Outbox)
	if !ok {
		t.Fatalf("%T does not implement store.Outbox", s)
	}
	return o
}

func notification(run string, i int) store.Notification {
	return store.Notification{
		ID: fmt.Sprintf("%s-n%d", run, i), RunID: run, Pipeline: "p", Index: i,
		URL: "https://hooks.example/" + run, Secret: "hook_key",
		Body: []byte(fmt.Sprintf(`{"run":%q,"n":%d,"nul":"\u0000"}`, run, i)),
	}
}

func listNotifications(t *testing.T, o store.Outbox, run string) []*store.Notification {
	t.Helper()
	ns, err := o.NotificationList(t.Context(), run)
	must(t, err, "NotificationList "+run)
	return ns
}

// testNotifyQueued: notifications are queued only when the run ends, as
// given, due at once; a write that moves no run queues none.
func testNotifyQueued(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := outbox(t, s)
	createRun(t, s, "r", "p", t0, "a")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunRunning, Now: at(1),
		Notify: []store.Notification{notification("r", 0)}}), "RunSetStatus running")
	if ns := listNotifications(t, o, "r"); len(ns) != 0 {
		t.Fatalf("a run moving to running queued %d notifications, want none", len(ns))
	}
	want := []store.Notification{notification("r", 0), notification("r", 1)}
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunFailed, Error: "boom", Now: at(5),
		Notify: want}), "RunSetStatus failed")
	want[0].Body[0] = 'X' // the store keeps its own copy
	ns := listNotifications(t, o, "r")
	if len(ns) != 2 {
		t.Fatalf("NotificationList: got %d, want 2", len(ns))
	}
	for i, n := range ns {
		w := notification("r", i)
		if n.ID != w.ID || n.RunID != "r" || n.Pipeline != "p" || n.Index != i || n.URL != w.URL ||
			n.Secret != "hook_key" || !bytes.Equal(n.Body, w.Body) || n.Status != store.NotificationPending ||
			n.Tries != 0 || n.LastCode != 0 || n.LastError != "" || n.LeaseOwner != "" {
			t.Fatalf("notification %d: got %+v, want %+v pending", i, n, w)
		}
		wantTime(t, n.NextAt, at(5), "NextAt of a queued notification")
		wantTime(t, n.CreatedAt, at(5), "CreatedAt")
		wantTime(t, n.DeliveredAt, time.Time{}, "DeliveredAt while pending")
		wantTime(t, n.LeaseUntil, time.Time{}, "LeaseUntil while unclaimed")
	}

	// The run cannot end twice: the refused write queues nothing.
	err := s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunCanceled, Now: at(6),
		Notify: []store.Notification{notification("r", 7)}})
	wantErr(t, err, store.ErrConflict, "RunSetStatus of an ended run")
	if ns := listNotifications(t, o, "r"); len(ns) != 2 {
		t.Fatalf("a refused RunSetStatus left %d notifications, want 2", len(ns))
	}

	// A fenced write queues nothing either.
	createRun(t, s, "f", "p", t0, "a")
	claimed, err := s.RunClaim(ctx, &store.RunClaimParams{Owner: "srv", Now: at(1), Until: at(100)})
	must(t, err, "RunClaim")
	if len(claimed) != 1 {
		t.Fatalf("RunClaim: got %d runs, want 1", len(claimed))
	}
	err = s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "f", Status: store.RunFailed, Now: at(2),
		Epoch: claimed[0].Lease.Epoch + 5, Notify: []store.Notification{notification("f", 0)}})
	wantErr(t, err, store.ErrFenced, "fenced RunSetStatus")
	if ns := listNotifications(t, o, "f"); len(ns) != 0 {
		t.Fatalf("a fenced RunSetStatus queued %d notifications", len(ns))
	}
}

// testNotifyInvalid: notifications the outbox cannot hold fail the whole
// write, so the run does not end without them.
func testNotifyInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "a")
	twice := []store.Notification{notification("r", 0), notification("r", 0)}
	other := []store.Notification{notification("elsewhere", 0)}
	for what, ns := range map[string][]store.Notification{"an id twice": twice, "another run's": other} {
		err := s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunSucceeded, Now: at(1), Notify: ns})
		if err == nil {
			t.Fatalf("RunSetStatus with %s notification: no error", what)
		}
	}
	run, err := s.RunGet(ctx, "r")
	must(t, err, "RunGet")
	if run.Status != store.RunQueued {
		t.Fatalf("a refused end left the run %s, want queued", run.Status)
	}
	if ns := listNotifications(t, outbox(t, s), "r"); len(ns) != 0 {
		t.Fatalf("a refused end queued %d notifications", len(ns))
	}
}

// testNotifyClaimRecord walks a notification through a failed try, a
// claim that lapsed and a delivery.
func testNotifyClaimRecord(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := outbox(t, s)
	endRunNotifying(t, s, "r", 10, notification("r", 0))

	got, err := o.NotificationClaim(ctx, &store.NotificationClaimParams{Owner: "a", Now: at(9), Until: at(20)})
	must(t, err, "NotificationClaim before due")
	if len(got) != 0 {
		t.Fatalf("claimed %d notifications before they were due", len(got))
	}
	got = claimNotes(t, o, "a", 10, 20, 1)
	wantTime(t, got[0].LeaseUntil, at(20), "LeaseUntil of a claimed row")
	if got[0].LeaseOwner != "a" || string(got[0].Body) != string(notification("r", 0).Body) {
		t.Fatalf("claimed row: got %+v", got[0])
	}
	claimNotes(t, o, "b", 15, 30, 0) // a's claim holds

	must(t, o.NotificationRecord(ctx, &store.NotificationRecordParams{ID: "r-n0", Owner: "a", Tries: 0,
		Status: store.NotificationPending, Code: 503, Error: "the receiver answered 503", NextAt: at(40), Now: at(16)}), "record a failed try")
	n := listNotifications(t, o, "r")[0]
	if n.Status != store.NotificationPending || n.Tries != 1 || n.LastCode != 503 || n.LastError != "the receiver answered 503" || n.LeaseOwner != "" {
		t.Fatalf("after a failed try: got %+v", n)
	}
	wantTime(t, n.NextAt, at(40), "NextAt after a failed try")
	claimNotes(t, o, "b", 39, 60, 0) // not due yet
	claimNotes(t, o, "b", 40, 50, 1)

	// b's claim lapses; c takes the row over, and b's late outcome is refused.
	claimNotes(t, o, "c", 51, 70, 1)
	err = o.NotificationRecord(ctx, &store.NotificationRecordParams{ID: "r-n0", Owner: "b", Tries: 1,
		Status: store.NotificationDelivered, Code: 200, Now: at(52)})
	wantErr(t, err, store.ErrConflict, "record by a server whose claim lapsed")
	err = o.NotificationRecord(ctx, &store.NotificationRecordParams{ID: "r-n0", Owner: "c", Tries: 0,
		Status: store.NotificationDelivered, Code: 200, Now: at(52)})
	wantErr(t, err, store.ErrConflict, "record with a stale try count")
	err = o.NotificationRecord(ctx, &store.NotificationRecordParams{ID: "nope", Owner: "c", Tries: 1,
		Status: store.NotificationDelivered, Now: at(52)})
	wantErr(t, err, store.ErrNotFound, "record of a missing notification")
	err = o.NotificationRecord(ctx, &store.NotificationRecordParams{ID: "r-n0", Owner: "c", Tries: 1,
		Status: "lost", Now: at(52)})
	if err == nil {
		t.Fatal("record with an unknown status: no error")
	}
	must(t, o.NotificationRecord(ctx, &store.NotificationRecordParams{ID: "r-n0", Owner: "c", Tries: 1,
		Status: store.NotificationDelivered, Code: 204, Now: at(53)}), "record a delivery")
	n = listNotifications(t, o, "r")[0]
	if n.Status != store.NotificationDelivered || n.Tries != 2 || n.LastCode != 204 || n.LastError != "" {
		t.Fatalf("after delivery: got %+v", n)
	}
	wantTime(t, n.DeliveredAt, at(53), "DeliveredAt")
	claimNotes(t, o, "d", 1000, 2000, 0) // delivered is never claimed again
	err = o.NotificationRecord(ctx, &store.NotificationRecordParams{ID: "r-n0", Owner: "", Tries: 2,
		Status: store.NotificationPending, Now: at(54)})
	wantErr(t, err, store.ErrConflict, "record of a delivered notification")

	// Giving up ends a row too.
	endRunNotifying(t, s, "g", 100, notification("g", 0))
	claimNotes(t, o, "a", 100, 200, 1)
	must(t, o.NotificationRecord(ctx, &store.NotificationRecordParams{ID: "g-n0", Owner: "a", Tries: 0,
		Status: store.NotificationGaveUp, Error: "dial: refused", Now: at(101)}), "record giving up")
	n = listNotifications(t, o, "g")[0]
	if n.Status != store.NotificationGaveUp || n.Tries != 1 || n.LastError != "dial: refused" {
		t.Fatalf("after giving up: got %+v", n)
	}
	wantTime(t, n.DeliveredAt, time.Time{}, "DeliveredAt of a row given up")
	claimNotes(t, o, "b", 1000, 2000, 0)
}

// testNotifyClaimOrder: a claim takes the soonest due first, at most Limit.
func testNotifyClaimOrder(t *testing.T, s store.Store) {
	o := outbox(t, s)
	endRunNotifying(t, s, "late", 30, notification("late", 0))
	endRunNotifying(t, s, "early", 10, notification("early", 0), notification("early", 1))
	got := claimNotes(t, o, "a", 50, 60, 2, 2)
	if got[0].ID != "early-n0" || got[1].ID != "early-n1" {
		t.Fatalf("claim order: got %s, %s; want early-n0, early-n1", got[0].ID, got[1].ID)
	}
	got = claimNotes(t, o, "a", 50, 60, 1, 2)
	if got[0].ID != "late-n0" {
		t.Fatalf("second claim: got %s, want late-n0", got[0].ID)
	}
}

// testNotifyClaimRace: servers claiming at once never take one row twice,
// and together they take every row.
func testNotifyClaimRace(t *testing.T, s store.Store) {
	const runs, per, claimers = 10, 3, 6
	o := outbox(t, s)
	for r := range runs {
		id := fmt.Sprintf("r%d", r)
		var ns []store.Notification
		for i := range per {
			ns = append(ns, notification(id, i))
		}
		endRunNotifying(t, s, id, 1, ns...)
	}
	var (
		mu   sync.Mutex
		seen = map[string]string{}
		wg   sync.WaitGroup
		errs = make(chan error, claimers*runs*per)
	)
	for c := range claimers {
		owner := fmt.Sprintf("srv%d", c)
		wg.Go(func() {
			for {
				got, err := o.NotificationClaim(t.Context(), &store.NotificationClaimParams{Owner: owner, Now: at(5), Until: at(100), Limit: 2})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, n := range got {
					if prev, ok := seen[n.ID]; ok {
						errs <- fmt.Errorf("%s claimed by %s and %s", n.ID, prev, owner)
					}
					seen[n.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != runs*per {
		t.Fatalf("claimed %d notifications in all, want %d", len(seen), runs*per)
	}
}

// testNotifyPrune: a pruned run takes its notifications with it.
func testNotifyPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := outbox(t, s)
	endRunNotifying(t, s, "old", 10, notification("old", 0))
	endRunNotifying(t, s, "new", 100, notification("new", 0))
	_, err := s.RunPrune(ctx, &store.RunPruneParams{Before: at(50)})
	must(t, err, "RunPrune")
	if ns := listNotifications(t, o, "old"); len(ns) != 0 {
		t.Fatalf("a pruned run left %d notifications", len(ns))
	}
	if ns := listNotifications(t, o, "new"); len(ns) != 1 {
		t.Fatalf("a kept run has %d notifications, want 1", len(ns))
	}
	claimNotes(t, o, "a", 200, 300, 1)
}

func endRunNotifying(t *testing.T, s store.Store, id string, sec int, ns ...store.Notification) {
	t.Helper()
	createRun(t, s, id, "p", at(sec-1), "a")
	must(t, s.RunSetStatus(t.Context(), &store.RunSetStatusParams{ID: id, Status: store.RunSucceeded, Now: at(sec), Notify: ns}), "RunSetStatus "+id)
}

// claimNotes claims as owner at now until until and wants n rows; limit is
// optional.
func claimNotes(t *testing.T, o store.Outbox, owner string, now, until, n int, limit ...int) []*store.Notification {
	t.Helper()
	p := &store.NotificationClaimParams{Owner: owner, Now: at(now), Until: at(until)}
	if len(limit) > 0 {
		p.Limit = limit[0]
	}
	got, err := o.NotificationClaim(t.Context(), p)
	must(t, err, "NotificationClaim")
	if len(got) != n {
		t.Fatalf("NotificationClaim by %s at %d: got %d rows, want %d", owner, now, len(got), n)
	}
	return got
}
