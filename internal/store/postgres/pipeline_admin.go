package postgres

import (
	"context"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// PipelineDelete implements [store.Store.PipelineDelete]. Revisions are
// marked deleted, not removed: runs read the revision they pinned.
func (s *Store) PipelineDelete(ctx context.Context, p *store.PipelineDeleteParams) error {
	if err := store.CheckNow(p.Now); err != nil {
		return fmt.Errorf("postgres: delete pipeline %q: %w", p.Name, err)
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pipelineLive(ctx, tx, p.Name); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM runs
			WHERE pipeline = $1 AND status IN ('queued', 'running')
			ORDER BY created_at, id LIMIT $2`, p.Name, store.MaxUnfinishedRunsNamed)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			return &store.UnfinishedRunsError{Pipeline: p.Name, Runs: ids}
		}
		if _, err := tx.Exec(ctx, `UPDATE pipelines SET deleted_at = $1
			WHERE name = $2 AND deleted_at = 0`, sqlrow.UnixNano(p.Now), p.Name); err != nil {
			return err
		}
		// Applied again later, the pipeline starts with no ticks to catch
		// up on and no pause.
		if _, err := tx.Exec(ctx, `DELETE FROM schedule_ticks WHERE pipeline = $1`, p.Name); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM schedule_pauses WHERE pipeline = $1`, p.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete pipeline %q: %w", p.Name, err)
	}
	return nil
}

// pipelineLive takes the pipeline's lock, then is nil if a pipeline of
// that name exists and is not deleted, else [store.ErrNotFound].
func pipelineLive(ctx context.Context, tx pgx.Tx, name string) error {
	if !findable(name) {
		return store.ErrNotFound
	}
	if err := lockPipeline(ctx, tx, name); err != nil {
		return err
	}
	var live bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pipelines
		WHERE name = $1 AND deleted_at = 0)`, name).Scan(&live); err != nil {
		return err
	}
	if !live {
		return store.ErrNotFound
	}
	return nil
}

// nextRevision is the revision number the next definition of a pipeline
// gets: one past every revision it had, deleted ones included, so a number
// a run pinned never names another definition.
func nextRevision(ctx context.Context, tx pgx.Tx, name string) (int, error) {
	var last int
	err := tx.QueryRow(ctx, `SELECT coalesce(max(revision), 0) FROM pipelines
		WHERE name = $1`, name).Scan(&last)
	return last + 1, err
}

// SchedulePauseSet implements [store.Store.SchedulePauseSet].
func (s *Store) SchedulePauseSet(ctx context.Context, p *store.SchedulePauseSetParams) error {
	if p.Paused {
		if err := store.CheckNow(p.Now); err != nil {
			return fmt.Errorf("postgres: pause schedules of pipeline %q: %w", p.Pipeline, err)
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pipelineLive(ctx, tx, p.Pipeline); err != nil {
			return err
		}
		var err error
		if p.Paused {
			_, err = tx.Exec(ctx, `INSERT INTO schedule_pauses (pipeline, paused_at)
				VALUES ($1, $2) ON CONFLICT DO NOTHING`, p.Pipeline, sqlrow.UnixNano(p.Now))
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM schedule_pauses WHERE pipeline = $1`, p.Pipeline)
		}
		return err
	})
	if err != nil {
		what := "resume"
		if p.Paused {
			what = "pause"
		}
		return fmt.Errorf("postgres: %s schedules of pipeline %q: %w", what, p.Pipeline, err)
	}
	return nil
}

// SchedulePauseList implements [store.Store.SchedulePauseList].
func (s *Store) SchedulePauseList(ctx context.Context) ([]*store.SchedulePauseRow, error) {
	out, err := queryAll(ctx, s, func(sc pgx.Row) (*store.SchedulePauseRow, error) {
		var (
			row store.SchedulePauseRow
			at  int64
		)
		if err := sc.Scan(&row.Pipeline, &at); err != nil {
			return nil, err
		}
		row.PausedAt = sqlrow.FromUnixNano(at)
		return &row, nil
	}, `SELECT pipeline, paused_at FROM schedule_pauses ORDER BY pipeline`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list paused schedules: %w", err)
	}
	return out, nil
}
