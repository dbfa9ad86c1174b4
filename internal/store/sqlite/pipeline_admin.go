package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// PipelineDelete implements [store.Store.PipelineDelete]. Revisions are
// marked deleted, not removed: runs read the revision they pinned.
func (s *Store) PipelineDelete(ctx context.Context, p *store.PipelineDeleteParams) error {
	if err := store.CheckNow(p.Now); err != nil {
		return fmt.Errorf("sqlite: delete pipeline %q: %w", p.Name, err)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := pipelineLive(ctx, tx, p.Name); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM runs
			WHERE pipeline = ? AND status IN (?, ?)
			ORDER BY created_at, id LIMIT ?`,
			p.Name, store.RunQueued, store.RunRunning, store.MaxUnfinishedRunsNamed)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) > 0 {
			return &store.UnfinishedRunsError{Pipeline: p.Name, Runs: ids}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pipelines SET deleted_at = ?
			WHERE name = ? AND deleted_at = 0`, sqlrow.UnixNano(p.Now), p.Name); err != nil {
			return err
		}
		// Applied again later, the pipeline starts with no ticks to catch
		// up on and no pause.
		if _, err := tx.ExecContext(ctx, `DELETE FROM schedule_ticks WHERE pipeline = ?`, p.Name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM schedule_pauses WHERE pipeline = ?`, p.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete pipeline %q: %w", p.Name, err)
	}
	return nil
}

// pipelineLive is nil if a pipeline of that name exists and is not
// deleted, else [store.ErrNotFound].
func pipelineLive(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pipelines
		WHERE name = ? AND deleted_at = 0`, name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// nextRevision is the revision number the next definition of a pipeline
// gets: one past every revision it had, deleted ones included, so a number
// a run pinned never names another definition.
func nextRevision(ctx context.Context, tx *sql.Tx, name string) (int, error) {
	var last int
	err := tx.QueryRowContext(ctx, `SELECT coalesce(max(revision), 0) FROM pipelines
		WHERE name = ?`, name).Scan(&last)
	return last + 1, err
}

// SchedulePauseSet implements [store.Store.SchedulePauseSet].
func (s *Store) SchedulePauseSet(ctx context.Context, p *store.SchedulePauseSetParams) error {
	if p.Paused {
		if err := store.CheckNow(p.Now); err != nil {
			return fmt.Errorf("sqlite: pause schedules of pipeline %q: %w", p.Pipeline, err)
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := pipelineLive(ctx, tx, p.Pipeline); err != nil {
			return err
		}
		var err error
		if p.Paused {
			_, err = tx.ExecContext(ctx, `INSERT INTO schedule_pauses (pipeline, paused_at)
				VALUES (?, ?) ON CONFLICT DO NOTHING`, p.Pipeline, sqlrow.UnixNano(p.Now))
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM schedule_pauses WHERE pipeline = ?`, p.Pipeline)
		}
		return err
	})
	if err != nil {
		what := "resume"
		if p.Paused {
			what = "pause"
		}
		return fmt.Errorf("sqlite: %s schedules of pipeline %q: %w", what, p.Pipeline, err)
	}
	return nil
}

// SchedulePauseList implements [store.Store.SchedulePauseList].
func (s *Store) SchedulePauseList(ctx context.Context) ([]*store.SchedulePauseRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT pipeline, paused_at FROM schedule_pauses ORDER BY pipeline`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list paused schedules: %w", err)
	}
	defer rows.Close()
	var out []*store.SchedulePauseRow
	for rows.Next() {
		var (
			row store.SchedulePauseRow
			at  int64
		)
		if err := rows.Scan(&row.Pipeline, &at); err != nil {
			return nil, fmt.Errorf("sqlite: list paused schedules: %w", err)
		}
		row.PausedAt = sqlrow.FromUnixNano(at)
		out = append(out, &row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list paused schedules: %w", err)
	}
	return out, nil
}
