package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// ScheduleTick implements [store.Store.ScheduleTick]. Ticks are kept to the
// nanosecond, so two ticks are the same only if they are the same instant.
// The zero time is refused: [Store.ScheduleLastTick] means "never" by it.
func (s *Store) ScheduleTick(ctx context.Context, p *store.ScheduleTickParams) (bool, error) {
	if err := store.CheckScheduleTick(p); err != nil {
		return false, fmt.Errorf("postgres: record tick of schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	var inserted bool
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO schedule_ticks
			(pipeline, schedule_key, tick, run_id, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`,
			p.Pipeline, p.Key, sqlrow.UnixNano(p.Tick), p.RunID, sqlrow.UnixNano(p.Now))
		inserted = err == nil && affected(tag)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("postgres: record tick %s of schedule %q of pipeline %q: %w",
			p.Tick.UTC().Format(time.RFC3339Nano), p.Key, p.Pipeline, err)
	}
	return inserted, nil
}

// ScheduleLastTick implements [store.Store.ScheduleLastTick].
func (s *Store) ScheduleLastTick(ctx context.Context, pipeline, key string) (time.Time, error) {
	if !findable(pipeline, key) {
		return time.Time{}, nil
	}
	var last *int64
	err := s.read(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT max(tick) FROM schedule_ticks
			WHERE pipeline = $1 AND schedule_key = $2`, pipeline, key).Scan(&last)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: last tick of schedule %q of pipeline %q: %w", key, pipeline, err)
	}
	if last == nil {
		return time.Time{}, nil
	}
	return sqlrow.FromUnixNano(*last), nil
}
