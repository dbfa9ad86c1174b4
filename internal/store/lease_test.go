package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

func TestGateAdmit(t *testing.T) {
	for _, tc := range []struct {
		name           string
		gate           store.Gate
		running, older int
		busy           bool
	}{
		{"no bound", store.Gate{}, 9, 0, false},
		{"older queued", store.Gate{}, 0, 1, true},
		{"under the limit", store.Gate{Limit: 2}, 1, 0, false},
		{"at the limit", store.Gate{Limit: 2}, 2, 0, true},
		{"serial, idle", store.Gate{Serial: true}, 0, 0, false},
		{"serial, one running", store.Gate{Serial: true}, 1, 0, true},
	} {
		err := tc.gate.Admit("p", tc.running, tc.older)
		switch {
		case tc.busy && !errors.Is(err, store.ErrBusy):
			t.Errorf("%s: Admit = %v, want ErrBusy", tc.name, err)
		case !tc.busy && err != nil:
			t.Errorf("%s: Admit = %v, want the run admitted", tc.name, err)
		}
	}
	wantErr(t, "refusal", (&store.Gate{Limit: 1}).Admit("p", 1, 2), `1 runs of "p" running, 2 queued before this one: no place free now`)
}

func TestCheckAttemptRoom(t *testing.T) {
	wantErr(t, "no bound", store.CheckAttemptRoom(100, 0), "")
	wantErr(t, "room", store.CheckAttemptRoom(1, 2), "")
	wantErr(t, "full", store.CheckAttemptRoom(2, 2), "2 attempts running, at most 2: no place free now")
	if err := store.CheckAttemptRoom(3, 2); !errors.Is(err, store.ErrBusy) {
		t.Errorf("over the bound: %v, want ErrBusy", err)
	}
}

func TestCheckEpoch(t *testing.T) {
	wantErr(t, "same", store.CheckEpoch(3, 3), "")
	wantErr(t, "unfenced", store.CheckEpoch(0, 3), "")
	err := store.CheckEpoch(2, 3)
	wantErr(t, "stale", err, "written under lease epoch 2, the run is at 3: run is driven by another server now")
	if !errors.Is(err, store.ErrFenced) {
		t.Errorf("stale epoch: %v, want ErrFenced", err)
	}
}

func TestCheckRunClaim(t *testing.T) {
	wantErr(t, "owner", store.CheckRunClaim(&store.RunClaimParams{Owner: "a"}), "")
	wantErr(t, "no owner", store.CheckRunClaim(&store.RunClaimParams{}), "no owner")
}

func TestSortRunsOldestFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	runs := []*store.RunRow{
		{ID: "c", CreatedAt: t0.Add(time.Second)},
		{ID: "b", CreatedAt: t0},
		{ID: "a", CreatedAt: t0.Add(time.Second)},
		{ID: "d", CreatedAt: t0.Add(-time.Nanosecond)},
	}
	store.SortRunsOldestFirst(runs)
	var got string
	for _, r := range runs {
		got += r.ID
	}
	if got != "dbac" {
		t.Fatalf("order: %s, want dbac (by time, then ID)", got)
	}
}
