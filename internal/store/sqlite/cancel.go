package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// endLeftovers ends, with the run, its steps and attempts that had not
// ended: a terminal run never keeps a step pending or running, whatever
// writes a full disk or a crash kept from the store before.
func endLeftovers(ctx context.Context, tx *sql.Tx, runID string, now int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE attempts SET status = 'canceled', finished_at = ?, sealed = NULL
		WHERE run_id = ? AND status = 'running'`, now, runID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE steps SET status = 'canceled',
		error = CASE WHEN error = '' THEN ? ELSE error END, finished_at = ?
		WHERE run_id = ? AND status NOT IN ('succeeded', 'failed', 'skipped', 'canceled')`,
		store.LeftoverStepError, now, runID)
	return err
}

// RunRequestCancel implements [store.Store.RunRequestCancel]. The first
// request's time is kept.
func (s *Store) RunRequestCancel(ctx context.Context, p *store.RunRequestCancelParams) (*store.RunRow, error) {
	var row *store.RunRow
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET cancel_requested_at = ?
			WHERE id = ? AND cancel_requested_at = 0 AND status NOT IN ('succeeded', 'failed', 'canceled')`,
			sqlrow.UnixNano(p.Now), p.ID)
		if err != nil {
			return err
		}
		row, err = scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, p.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if row.Status.Terminal() {
			return fmt.Errorf("run is %s: %w", row.Status, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: request cancel of run %q: %w", p.ID, err)
	}
	return row, nil
}
