package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// testScheduleTicks holds a store to what it records of each tick: the
// outcome only the tick's claim sets, once; the list newest first; and
// ticks pruned with the runs of their age, each schedule's latest kept.
func testScheduleTicks(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Outcomes", testTickOutcomes},
		{"OnlyTheClaimSets", testTickOnlyTheClaimSets},
		{"ClaimRace", testTickClaimRace},
		{"Prune", testTickPrune},
		{"PruneMany", testTickPruneMany},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

// claimTick records a tick under claim and fails t unless it was new.
func claimTick(t *testing.T, s store.Store, pipeline, key string, tick time.Time, claim string, catchUp bool, now time.Time) {
	t.Helper()
	ok, err := s.ScheduleTick(t.Context(), &store.ScheduleTickParams{Pipeline: pipeline, Key: key, Tick: tick,
		Claim: claim, CatchUp: catchUp, Now: now})
	must(t, err, "ScheduleTick")
	if !ok {
		t.Fatalf("ScheduleTick %s %s %v: got false, want a new tick", pipeline, key, tick)
	}
}

func setOutcome(s store.Store, t *testing.T, pipeline, key string, tick time.Time, claim string,
	outcome store.TickOutcome, runID, errText string, now time.Time) error {
	return s.ScheduleTickSetOutcome(t.Context(), &store.ScheduleTickOutcomeParams{Pipeline: pipeline, Key: key,
		Tick: tick, Claim: claim, Outcome: outcome, RunID: runID, Error: errText, Now: now})
}

func listTicks(t *testing.T, s store.Store, pipeline, key string, limit int) []*store.ScheduleTickRow {
	t.Helper()
	rows, err := s.ScheduleTickList(t.Context(), &store.ScheduleTickListParams{Pipeline: pipeline, Key: key, Limit: limit})
	must(t, err, "ScheduleTickList")
	return rows
}

// tickRow is what a test expects of a listed tick.
type tickRow struct {
	tick    time.Time
	outcome store.TickOutcome
	runID   string
	err     string
	catchUp bool
	claimed time.Time
	decided time.Time
}

func wantTicks(t *testing.T, got []*store.ScheduleTickRow, pipeline, key string, want ...tickRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("ticks of %s %s: got %d, want %d", pipeline, key, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		what := fmt.Sprintf("tick %d of %s %s", i, pipeline, key)
		if g.Pipeline != pipeline || g.Key != key {
			t.Fatalf("%s: got pipeline %q key %q", what, g.Pipeline, g.Key)
		}
		wantTime(t, g.Tick, w.tick, what+" time")
		wantTime(t, g.ClaimedAt, w.claimed, what+" claimed at")
		wantTime(t, g.DecidedAt, w.decided, what+" decided at")
		if g.Outcome != w.outcome || g.RunID != w.runID || g.Error != w.err || g.CatchUp != w.catchUp {
			t.Fatalf("%s: got outcome %q run %q error %.80q catch-up %v, want %q %q %.80q %v",
				what, g.Outcome, g.RunID, g.Error, g.CatchUp, w.outcome, w.runID, w.err, w.catchUp)
		}
	}
}

func testTickOutcomes(t *testing.T, s store.Store) {
	const p, k = "outcomes", "@hourly"
	tick := func(h int) time.Time { return t0.Add(time.Duration(h)*time.Hour + 1) }
	wantTicks(t, listTicks(t, s, p, k, 0), p, k)

	// Recorded out of order: the list goes by tick, newest first.
	for _, h := range []int{3, 1, 5, 2, 4} {
		claimTick(t, s, p, k, tick(h), fmt.Sprint("claim-", h), h == 1, at(h))
	}
	claimTick(t, s, p, k, tick(6), "", false, at(6)) // as before outcomes: no claim
	longErr := "engine: submit \x1b[31m<b>boom</b>\n" + strings.Repeat("é", store.MaxTickError)
	must(t, setOutcome(s, t, p, k, tick(1), "claim-1", store.TickFired, "run-1", "", at(10)), "fired by catch-up")
	must(t, setOutcome(s, t, p, k, tick(2), "claim-2", store.TickSkippedPaused, "", "", at(20)), "skipped paused")
	must(t, setOutcome(s, t, p, k, tick(3), "claim-3", store.TickSkippedOverlap, "", "", at(30)), "skipped overlap")
	must(t, setOutcome(s, t, p, k, tick(4), "claim-4", store.TickFailed, "", longErr, at(40)), "failed")
	// tick 5 keeps no outcome: its scheduler stopped first.
	wantErr(t, setOutcome(s, t, p, k, tick(6), "any", store.TickFired, "r", "", at(60)), store.ErrConflict,
		"outcome of a tick recorded without a claim")

	bounded := store.BoundTickError(longErr)
	if len(bounded) > store.MaxTickError || strings.ContainsAny(bounded, "\x1b\n") {
		t.Fatalf("BoundTickError kept %d bytes: %.80q", len(bounded), bounded)
	}
	all := []tickRow{
		{tick: tick(6), outcome: store.TickUnknown, claimed: at(6)},
		{tick: tick(5), outcome: store.TickUnknown, claimed: at(5)},
		{tick: tick(4), outcome: store.TickFailed, err: bounded, claimed: at(4), decided: at(40)},
		{tick: tick(3), outcome: store.TickSkippedOverlap, claimed: at(3), decided: at(30)},
		{tick: tick(2), outcome: store.TickSkippedPaused, claimed: at(2), decided: at(20)},
		{tick: tick(1), outcome: store.TickFired, runID: "run-1", catchUp: true, claimed: at(1), decided: at(10)},
	}
	wantTicks(t, listTicks(t, s, p, k, 0), p, k, all...)
	wantTicks(t, listTicks(t, s, p, k, 2), p, k, all[:2]...)
	wantTicks(t, listTicks(t, s, p, k, store.MaxTickList), p, k, all...)

	// Other schedules and pipelines keep their own.
	claimTick(t, s, p, "@daily", tick(1), "c", false, at(1))
	claimTick(t, s, "other", k, tick(1), "c", false, at(1))
	wantTicks(t, listTicks(t, s, p, "@daily", 0), p, "@daily", tickRow{tick: tick(1), outcome: store.TickUnknown, claimed: at(1)})
	wantTicks(t, listTicks(t, s, "nope", k, 0), "nope", k)
	if got := listTicks(t, s, p, k, 0); len(got) != len(all) {
		t.Fatalf("ticks of %s %s after other schedules ticked: got %d, want %d", p, k, len(got), len(all))
	}

	// Refused: a limit out of bounds, and outcomes the check refuses.
	for _, limit := range []int{-1, store.MaxTickList + 1} {
		if _, err := s.ScheduleTickList(t.Context(), &store.ScheduleTickListParams{Pipeline: p, Key: k, Limit: limit}); err == nil {
			t.Fatalf("ScheduleTickList with limit %d: got no error", limit)
		}
	}
	for _, bad := range []*store.ScheduleTickOutcomeParams{
		{Pipeline: p, Key: k, Tick: tick(5), Claim: "claim-5", Outcome: store.TickUnknown, Now: at(50)},
		{Pipeline: p, Key: k, Tick: tick(5), Claim: "claim-5", Outcome: store.TickFired, Now: at(50)},
		{Pipeline: p, Key: k, Tick: tick(5), Claim: "claim-5", Outcome: store.TickFailed, Now: at(50)},
		{Pipeline: p, Key: k, Tick: tick(5), Outcome: store.TickSkippedPaused, Now: at(50)},
		{Pipeline: p, Key: k, Tick: tick(5), Claim: "claim-5", Outcome: "exploded", Now: at(50)},
	} {
		err := s.ScheduleTickSetOutcome(t.Context(), bad)
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ScheduleTickSetOutcome(%+v): got %v, want a refusal", bad, err)
		}
	}
	wantTicks(t, listTicks(t, s, p, k, 0), p, k, all...)
}

// testTickOnlyTheClaimSets: of servers sharing a store, only the one
// whose claim recorded a tick sets its outcome, and only once.
func testTickOnlyTheClaimSets(t *testing.T, s store.Store) {
	const p, k = "claims", "@daily"
	tick := at(100)
	wantErr(t, setOutcome(s, t, p, k, tick, "a", store.TickFired, "r", "", at(101)), store.ErrNotFound,
		"outcome of a tick never recorded")
	claimTick(t, s, p, k, tick, "a", false, at(100))
	ok, err := s.ScheduleTick(t.Context(), &store.ScheduleTickParams{Pipeline: p, Key: k, Tick: tick, Claim: "b", Now: at(100)})
	must(t, err, "ScheduleTick by a second server")
	if ok {
		t.Fatal("second claim of a tick: got true, want false")
	}
	wantErr(t, setOutcome(s, t, p, k, tick, "b", store.TickSkippedOverlap, "", "", at(101)), store.ErrConflict,
		"outcome set by a server that did not claim the tick")
	wantErr(t, setOutcome(s, t, p, k, tick.Add(1), "a", store.TickFired, "r", "", at(101)), store.ErrNotFound,
		"outcome of another tick")
	must(t, setOutcome(s, t, p, k, tick, "a", store.TickFired, "run-a", "", at(102)), "outcome by the claim")
	wantErr(t, setOutcome(s, t, p, k, tick, "a", store.TickFailed, "", "again", at(103)), store.ErrConflict,
		"outcome set twice")
	wantTicks(t, listTicks(t, s, p, k, 0), p, k,
		tickRow{tick: tick, outcome: store.TickFired, runID: "run-a", claimed: at(100), decided: at(102)})
}

// testTickClaimRace has servers race to claim one tick and each then set
// its outcome: one claims it, and only that one's outcome is kept.
func testTickClaimRace(t *testing.T, s store.Store) {
	const p, k, n = "race", "@every 1m", 8
	tick := at(200)
	type result struct {
		claim   string
		claimed bool
		setErr  error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := result{claim: fmt.Sprint("server-", i)}
			var err error
			r.claimed, err = s.ScheduleTick(t.Context(), &store.ScheduleTickParams{Pipeline: p, Key: k, Tick: tick, Claim: r.claim, Now: at(200)})
			if err != nil {
				r.setErr = err
			} else {
				r.setErr = setOutcome(s, t, p, k, tick, r.claim, store.TickFired, "run-of-"+r.claim, "", at(201))
			}
			results <- r
		})
	}
	wg.Wait()
	close(results)
	winner := ""
	for r := range results {
		switch {
		case r.claimed && r.setErr == nil:
			if winner != "" {
				t.Fatalf("two claims won one tick: %s and %s", winner, r.claim)
			}
			winner = r.claim
		case r.claimed:
			t.Fatalf("%s claimed the tick but could not set its outcome: %v", r.claim, r.setErr)
		case !errors.Is(r.setErr, store.ErrConflict):
			t.Fatalf("%s did not claim the tick; setting its outcome: got %v, want ErrConflict", r.claim, r.setErr)
		}
	}
	if winner == "" {
		t.Fatal("no claim won the tick")
	}
	wantTicks(t, listTicks(t, s, p, k, 0), p, k,
		tickRow{tick: tick, outcome: store.TickFired, runID: "run-of-" + winner, claimed: at(200), decided: at(201)})
}

// testTickPrune: ticks recorded before the cut go with the runs of their
// age, except each schedule's latest, which catch-up counts from.
func testTickPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	const p = "prune"
	tick := func(sec int) time.Time { return at(sec).Add(time.Minute) }
	for _, sec := range []int{10, 20, 30, 60} {
		claimTick(t, s, p, "a", tick(sec), "c", false, at(sec))
	}
	claimTick(t, s, p, "b", tick(10), "c", false, at(10)) // its only tick: the latest
	claimTick(t, s, p, "c", tick(10), "c", false, at(10))
	claimTick(t, s, p, "c", tick(20), "c", false, at(20)) // its latest, though old
	// Ticks go by when they were recorded: one recorded late for an
	// earlier time stays until its record is old.
	claimTick(t, s, p, "d", tick(70), "c", false, at(70))
	claimTick(t, s, p, "d", tick(5), "c", false, at(80))
	finishedRun(t, s, "prune-old", store.RunSucceeded, 10)

	n, err := s.RunPrune(ctx, &store.RunPruneParams{Before: at(50)})
	must(t, err, "RunPrune")
	if n != 1 {
		t.Fatalf("RunPrune: got %d runs deleted, want 1", n)
	}
	unknown := func(sec, claimed int) tickRow {
		return tickRow{tick: tick(sec), outcome: store.TickUnknown, claimed: at(claimed)}
	}
	wantTicks(t, listTicks(t, s, p, "a", 0), p, "a", unknown(60, 60))
	wantTicks(t, listTicks(t, s, p, "b", 0), p, "b", unknown(10, 10))
	wantTicks(t, listTicks(t, s, p, "c", 0), p, "c", unknown(20, 20))
	wantTicks(t, listTicks(t, s, p, "d", 0), p, "d", unknown(70, 70), unknown(5, 80))
	for key, want := range map[string]time.Time{"a": tick(60), "b": tick(10), "c": tick(20), "d": tick(70)} {
		last, err := s.ScheduleLastTick(ctx, p, key)
		must(t, err, "ScheduleLastTick")
		wantTime(t, last, want, "last tick of "+key+" after a prune")
	}
	// The latest tick stays a tick: it does not fire again.
	if ok, err := s.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: p, Key: "c", Tick: tick(20), Claim: "x", Now: at(90)}); ok || err != nil {
		t.Fatalf("ScheduleTick of the kept latest tick: got %v, %v, want false", ok, err)
	}
}

// testTickPruneMany prunes more ticks than one transaction deletes.
func testTickPruneMany(t *testing.T, s store.Store) {
	const p, k = "prune-many", "@every 1s"
	total := 2*store.TickPruneBatch + 7
	for i := range total {
		claimTick(t, s, p, k, at(i).Add(time.Hour), "", false, at(i))
	}
	_, err := s.RunPrune(t.Context(), &store.RunPruneParams{Before: at(total)})
	must(t, err, "RunPrune")
	wantTicks(t, listTicks(t, s, p, k, 0), p, k,
		tickRow{tick: at(total - 1).Add(time.Hour), outcome: store.TickUnknown, claimed: at(total - 1)})
}
