package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// ScheduleTick implements [store.Store.ScheduleTick]. Ticks are kept to the
// nanosecond, so two ticks are the same only if they are the same instant.
// The zero time is refused: [Store.ScheduleLastTick] means "never" by it.
func (s *Store) ScheduleTick(ctx context.Context, p *store.ScheduleTickParams) (bool, error) {
	if err := store.CheckScheduleTick(p); err != nil {
		return false, fmt.Errorf("sqlite: record tick of schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	var inserted bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO schedule_ticks
			(pipeline, schedule_key, tick, run_id, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`,
			p.Pipeline, p.Key, sqlrow.UnixNano(p.Tick), p.RunID, sqlrow.UnixNano(p.Now))
		if err != nil {
			return err
		}
		inserted, err = affected(res)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: record tick %s of schedule %q of pipeline %q: %w",
			p.Tick.UTC().Format(time.RFC3339Nano), p.Key, p.Pipeline, err)
	}
	return inserted, nil
}

// ScheduleLastTick implements [store.Store.ScheduleLastTick].
func (s *Store) ScheduleLastTick(ctx context.Context, pipeline, key string) (time.Time, error) {
	var last sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT max(tick) FROM schedule_ticks
		WHERE pipeline = ? AND schedule_key = ?`, pipeline, key).Scan(&last)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: last tick of schedule %q of pipeline %q: %w", key, pipeline, err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return sqlrow.FromUnixNano(last.Int64), nil
}
