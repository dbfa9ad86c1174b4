package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

func testScheduleTick(t *testing.T, s store.Store) {
	ctx := t.Context()
	tick := func(pipeline, key string, at time.Time) bool {
		t.Helper()
		ok, err := s.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: pipeline, Key: key, Tick: at, RunID: "run", Now: t0})
		must(t, err, "ScheduleTick")
		return ok
	}
	last := func(pipeline, key string) time.Time {
		t.Helper()
		got, err := s.ScheduleLastTick(ctx, pipeline, key)
		must(t, err, "ScheduleLastTick")
		return got
	}
	wantTime(t, last("p", "@hourly"), time.Time{}, "last tick of a schedule that never fired")

	tick1 := t0.Add(1) // zone and nanoseconds must survive
	if !tick("p", "@hourly", tick1) {
		t.Fatalf("first tick: got false, want true")
	}
	wantTime(t, last("p", "@hourly"), tick1, "last tick")
	if tick("p", "@hourly", tick1) {
		t.Fatalf("same tick again: got true, want false")
	}
	if tick("p", "@hourly", tick1.UTC()) {
		t.Fatalf("same tick in another zone: got true, want false")
	}
	// One nanosecond apart is another tick; other schedules and pipelines
	// have ticks of their own.
	if !tick("p", "@hourly", tick1.Add(1)) {
		t.Fatalf("tick a nanosecond later: got false, want true")
	}
	if !tick("p", "*/5 * * * *", tick1) {
		t.Fatalf("same tick of another schedule: got false, want true")
	}
	if !tick("q", "@hourly", tick1) {
		t.Fatalf("same tick of another pipeline: got false, want true")
	}
	wantTime(t, last("p", "@hourly"), tick1.Add(1), "last tick after a later one")

	// A late, older tick is recorded but is not the last.
	if !tick("p", "@hourly", at(-3600)) {
		t.Fatalf("older tick: got false, want true")
	}
	wantTime(t, last("p", "@hourly"), tick1.Add(1), "last tick after an older one")
	if tick("p", "@hourly", at(-3600)) {
		t.Fatalf("older tick again: got true, want false")
	}
	wantTime(t, last("p", "*/5 * * * *"), tick1, "last tick of the other schedule")
	wantTime(t, last("q", "@hourly"), tick1, "last tick of the other pipeline")
	wantTime(t, last("q", "*/5 * * * *"), time.Time{}, "last tick of a schedule fired only elsewhere")
	wantTime(t, last("nope", "@hourly"), time.Time{}, "last tick of a missing pipeline")
}

// testScheduleTickRace has servers race to fire one tick: exactly one
// fires it.
func testScheduleTickRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	var wg sync.WaitGroup
	type result struct {
		ok  bool
		err error
	}
	results := make(chan result, n)
	for i := range n {
		wg.Go(func() {
			ok, err := s.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: "p", Key: "@daily",
				Tick: at(60), RunID: string(rune('a' + i)), Now: at(61)})
			results <- result{ok, err}
		})
	}
	wg.Wait()
	close(results)
	won := 0
	for r := range results {
		must(t, r.err, "ScheduleTick")
		if r.ok {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("ScheduleTick raced by %d: %d got true, want 1", n, won)
	}
	last, err := s.ScheduleLastTick(ctx, "p", "@daily")
	must(t, err, "ScheduleLastTick")
	wantTime(t, last, at(60), "last tick after the race")
}
