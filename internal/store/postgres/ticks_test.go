package postgres_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
)

// TestTicksFromBeforeOutcomes opens a schema whose ticks were recorded
// before ticks had outcomes: they list as unknown, not caught up, and no
// claim can set their outcome.
func TestTicksFromBeforeOutcomes(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	q := []string{`CREATE TABLE schema_migrations (version integer NOT NULL PRIMARY KEY, applied_at bigint NOT NULL)`}
	for v := 1; v <= 5; v++ {
		files, err := filepath.Glob(fmt.Sprintf("migrations/%04d_*.sql", v))
		if err != nil || len(files) != 1 {
			t.Fatalf("migration %d: got %q, %v", v, files, err)
		}
		m, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		q = append(q, string(m), fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, 0)`, v))
	}
	tick := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	q = append(q, fmt.Sprintf(`INSERT INTO schedule_ticks (pipeline, schedule_key, tick, run_id, created_at)
		VALUES ('p', '@daily', %d, '', %d)`, tick.UnixNano(), tick.UnixNano()+5))
	pgtest.Exec(t, url, q...)

	s := open(t, url)
	rows, err := s.ScheduleTickList(ctx, &store.ScheduleTickListParams{Pipeline: "p", Key: "@daily"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("ScheduleTickList: got %d rows, %v", len(rows), err)
	}
	r := rows[0]
	if !r.Tick.Equal(tick) || r.Outcome != store.TickUnknown || r.CatchUp || r.RunID != "" || r.Error != "" ||
		!r.DecidedAt.IsZero() || !r.ClaimedAt.Equal(tick.Add(5)) {
		t.Fatalf("a tick from before outcomes: got %+v", r)
	}
	err = s.ScheduleTickSetOutcome(ctx, &store.ScheduleTickOutcomeParams{Pipeline: "p", Key: "@daily", Tick: tick,
		Claim: "guess", Outcome: store.TickFired, RunID: "r", Now: time.Now()})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("outcome of a tick from before outcomes: got %v, want ErrConflict", err)
	}
}

// TestTickOutcomeAcrossServers: two servers on one schema race for a
// tick; only the one that recorded it sets its outcome, and the other
// sees it.
func TestTickOutcomeAcrossServers(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	a, b := open(t, url), open(t, url)
	tick := time.Now()
	p := func(claim string) *store.ScheduleTickParams {
		return &store.ScheduleTickParams{Pipeline: "p", Key: "@daily", Tick: tick, Claim: claim, Now: tick}
	}
	okA, errA := a.ScheduleTick(ctx, p("a"))
	okB, errB := b.ScheduleTick(ctx, p("b"))
	if errA != nil || errB != nil || !okA || okB {
		t.Fatalf("ScheduleTick by a then b: got %v %v, %v %v", okA, errA, okB, errB)
	}
	outcome := func(claim string) *store.ScheduleTickOutcomeParams {
		return &store.ScheduleTickOutcomeParams{Pipeline: "p", Key: "@daily", Tick: tick, Claim: claim,
			Outcome: store.TickFired, RunID: "run-" + claim, Now: time.Now()}
	}
	if err := b.ScheduleTickSetOutcome(ctx, outcome("b")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("outcome set by the server that lost the tick: got %v, want ErrConflict", err)
	}
	if err := a.ScheduleTickSetOutcome(ctx, outcome("a")); err != nil {
		t.Fatalf("outcome set by the server that recorded the tick: %v", err)
	}
	rows, err := b.ScheduleTickList(ctx, &store.ScheduleTickListParams{Pipeline: "p", Key: "@daily"})
	if err != nil || len(rows) != 1 || rows[0].Outcome != store.TickFired || rows[0].RunID != "run-a" {
		t.Fatalf("ticks seen from the other server: got %+v, %v", rows, err)
	}
}
