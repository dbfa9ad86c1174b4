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
			(pipeline, schedule_key, tick, run_id, created_at, claim, catch_up) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT DO NOTHING`,
			p.Pipeline, p.Key, sqlrow.UnixNano(p.Tick), p.RunID, sqlrow.UnixNano(p.Now), p.Claim, p.CatchUp)
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

// ScheduleTickSetOutcome implements [store.Store.ScheduleTickSetOutcome].
// The claim in the WHERE is what lets only the server that recorded a
// tick, of all that share the store, set its outcome.
func (s *Store) ScheduleTickSetOutcome(ctx context.Context, p *store.ScheduleTickOutcomeParams) error {
	if err := store.CheckScheduleTickOutcome(p); err != nil {
		return fmt.Errorf("postgres: schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	tick := sqlrow.UnixNano(p.Tick)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.Pipeline, p.Key, p.Claim, p.RunID) {
			return store.ErrNotFound
		}
		tag, err := tx.Exec(ctx, `UPDATE schedule_ticks
			SET outcome = $1, run_id = $2, error = $3, decided_at = $4
			WHERE pipeline = $5 AND schedule_key = $6 AND tick = $7 AND claim = $8 AND outcome = $9`,
			p.Outcome, p.RunID, store.BoundTickError(p.Error), sqlrow.UnixNano(p.Now),
			p.Pipeline, p.Key, tick, p.Claim, store.TickUnknown)
		if err != nil || affected(tag) {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM schedule_ticks
			WHERE pipeline = $1 AND schedule_key = $2 AND tick = $3`, p.Pipeline, p.Key, tick).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return fmt.Errorf("the tick was recorded by another claim, or its outcome is set: %w", store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("postgres: set outcome of tick %s of schedule %q of pipeline %q: %w",
			p.Tick.UTC().Format(time.RFC3339Nano), p.Key, p.Pipeline, err)
	}
	return nil
}

// ScheduleTickList implements [store.Store.ScheduleTickList].
func (s *Store) ScheduleTickList(ctx context.Context, p *store.ScheduleTickListParams) ([]*store.ScheduleTickRow, error) {
	if err := store.CheckScheduleTickList(p); err != nil {
		return nil, fmt.Errorf("postgres: schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	if !findable(p.Pipeline, p.Key) {
		return nil, nil
	}
	scan := func(row pgx.Row) (*store.ScheduleTickRow, error) {
		r := &store.ScheduleTickRow{Pipeline: p.Pipeline, Key: p.Key}
		var tick, claimed, decided int64
		var outcome string
		if err := row.Scan(&tick, &outcome, &r.RunID, &r.Error, &r.CatchUp, &claimed, &decided); err != nil {
			return nil, err
		}
		r.Outcome = store.TickOutcome(outcome)
		r.Tick, r.ClaimedAt, r.DecidedAt = sqlrow.FromUnixNano(tick), sqlrow.FromUnixNano(claimed), sqlrow.FromUnixNano(decided)
		return r, nil
	}
	out, err := queryAll(ctx, s, scan, `SELECT tick, outcome, run_id, error, catch_up, created_at, decided_at
		FROM schedule_ticks WHERE pipeline = $1 AND schedule_key = $2
		ORDER BY tick DESC LIMIT $3`, p.Pipeline, p.Key, store.TickListLimit(p))
	if err != nil {
		return nil, fmt.Errorf("postgres: list ticks of schedule %q of pipeline %q: %w", p.Key, p.Pipeline, err)
	}
	return out, nil
}

// pruneTicks deletes the ticks recorded before before, but each
// schedule's latest, which catch-up counts from, in transactions of at
// most [store.TickPruneBatch] ticks. Ticks another prune is deleting are
// skipped, not waited for.
func (s *Store) pruneTicks(ctx context.Context, before int64) error {
	for {
		var n int64
		err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `DELETE FROM schedule_ticks
				WHERE (pipeline, schedule_key, tick) IN (
					SELECT t.pipeline, t.schedule_key, t.tick FROM schedule_ticks t
					WHERE t.created_at < $1 AND t.tick < (SELECT max(l.tick) FROM schedule_ticks l
						WHERE l.pipeline = t.pipeline AND l.schedule_key = t.schedule_key)
					LIMIT $2
					FOR UPDATE SKIP LOCKED)`, before, store.TickPruneBatch)
			n = tag.RowsAffected()
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
