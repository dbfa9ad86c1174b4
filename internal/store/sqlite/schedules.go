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
			(pipeline, schedule_key, tick, run_id, created_at, claim, catch_up) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`,
			p.Pipeline, p.Key, sqlrow.UnixNano(p.Tick), p.RunID, sqlrow.UnixNano(p.Now), p.Claim, p.CatchUp)
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

// ScheduleTickSetOutcome implements [store.Store.ScheduleTickSetOutcome].
func (s *Store) ScheduleTickSetOutcome(ctx context.Context, p *store.ScheduleTickOutcomeParams) error {
	if err := store.CheckScheduleTickOutcome(p); err != nil {
		return fmt.Errorf("sqlite: schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	tick := sqlrow.UnixNano(p.Tick)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE schedule_ticks
			SET outcome = ?, run_id = ?, error = ?, decided_at = ?
			WHERE pipeline = ? AND schedule_key = ? AND tick = ? AND claim = ? AND outcome = ?`,
			p.Outcome, p.RunID, store.BoundTickError(p.Error), sqlrow.UnixNano(p.Now),
			p.Pipeline, p.Key, tick, p.Claim, store.TickUnknown)
		if err != nil {
			return err
		}
		if set, err := affected(res); err != nil || set {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schedule_ticks
			WHERE pipeline = ? AND schedule_key = ? AND tick = ?`, p.Pipeline, p.Key, tick).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return fmt.Errorf("the tick was recorded by another claim, or its outcome is set: %w", store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set outcome of tick %s of schedule %q of pipeline %q: %w",
			p.Tick.UTC().Format(time.RFC3339Nano), p.Key, p.Pipeline, err)
	}
	return nil
}

// ScheduleTickList implements [store.Store.ScheduleTickList].
func (s *Store) ScheduleTickList(ctx context.Context, p *store.ScheduleTickListParams) ([]*store.ScheduleTickRow, error) {
	if err := store.CheckScheduleTickList(p); err != nil {
		return nil, fmt.Errorf("sqlite: schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT tick, outcome, run_id, error, catch_up, created_at, decided_at
		FROM schedule_ticks WHERE pipeline = ? AND schedule_key = ?
		ORDER BY tick DESC LIMIT ?`, p.Pipeline, p.Key, store.TickListLimit(p))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list ticks of schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	defer rows.Close()
	var out []*store.ScheduleTickRow
	for rows.Next() {
		r := &store.ScheduleTickRow{Pipeline: p.Pipeline, Key: p.Key}
		var tick, claimed, decided int64
		if err := rows.Scan(&tick, &r.Outcome, &r.RunID, &r.Error, &r.CatchUp, &claimed, &decided); err != nil {
			return nil, fmt.Errorf("sqlite: list ticks of schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
		}
		r.Tick, r.ClaimedAt, r.DecidedAt = sqlrow.FromUnixNano(tick), sqlrow.FromUnixNano(claimed), sqlrow.FromUnixNano(decided)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list ticks of schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	return out, nil
}

// pruneTicks deletes the ticks recorded before before, but each
// schedule's latest, which catch-up counts from, in transactions of at
// most [store.TickPruneBatch] ticks.
func (s *Store) pruneTicks(ctx context.Context, before int64) error {
	for {
		var n int64
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM schedule_ticks
				WHERE (pipeline, schedule_key, tick) IN (
					SELECT t.pipeline, t.schedule_key, t.tick FROM schedule_ticks t
					WHERE t.created_at < ? AND t.tick < (SELECT max(l.tick) FROM schedule_ticks l
						WHERE l.pipeline = t.pipeline AND l.schedule_key = t.schedule_key)
					LIMIT ?)`, before, store.TickPruneBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return fmt.Errorf("prune schedule ticks: %w", err)
		}
		if n < store.TickPruneBatch {
			return nil
		}
	}
}
