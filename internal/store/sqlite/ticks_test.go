package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// TestTicksFromBeforeOutcomes opens a database whose ticks were recorded
// before ticks had outcomes: they list as unknown, not caught up, and no
// claim can set their outcome.
func TestTicksFromBeforeOutcomes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "baton.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			db.Close()
			t.Fatalf("build a version 14 database: %v", err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for v := 1; v <= 14; v++ {
		files, err := filepath.Glob(fmt.Sprintf("migrations/%04d_*.sql", v))
		if err != nil || len(files) != 1 {
			t.Fatalf("migration %d: got %q, %v", v, files, err)
		}
		q, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		exec(string(q))
		exec(`INSERT INTO schema_migrations VALUES (?, 0)`, v)
	}
	tick := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	exec(`INSERT INTO schedule_ticks (pipeline, schedule_key, tick, run_id, created_at) VALUES ('p', '@daily', ?, '', ?)`,
		tick.UnixNano(), tick.UnixNano()+5)
	db.Close()

	s := open(t, path)
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
	last, err := s.ScheduleLastTick(ctx, "p", "@daily")
	if err != nil || !last.Equal(tick) {
		t.Fatalf("ScheduleLastTick: got %v, %v", last, err)
	}
}
