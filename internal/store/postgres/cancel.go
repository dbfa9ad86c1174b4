package postgres

import (
	"context"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// endLeftovers ends, with the run, its steps and attempts that had not
// ended: a terminal run never keeps a step pending or running. Steps go
// before attempts, the order every write locks them in.
func endLeftovers(ctx context.Context, tx pgx.Tx, runID string, now int64) error {
	if _, err := tx.Exec(ctx, `UPDATE steps SET status = 'canceled',
		error = CASE WHEN error = ''::bytea THEN $1::bytea ELSE error END, finished_at = $2
		WHERE run_id = $3 AND status NOT IN ('succeeded', 'failed', 'skipped', 'canceled')`,
		textBytes(store.LeftoverStepError), now, runID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE attempts SET status = 'canceled', finished_at = $1, sealed = NULL
		WHERE run_id = $2 AND status = 'running'`, now, runID)
	return err
}

// RunRequestCancel implements [store.Store.RunRequestCancel]. The first
// request's time is kept.
func (s *Store) RunRequestCancel(ctx context.Context, p *store.RunRequestCancelParams) (*store.RunRow, error) {
	var row *store.RunRow
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		row = nil
		if !findable(p.ID) {
			return store.ErrNotFound
		}
		_, err := tx.Exec(ctx, `UPDATE runs SET cancel_requested_at = $1
			WHERE id = $2 AND cancel_requested_at = 0 AND status NOT IN ('succeeded', 'failed', 'canceled')`,
			sqlrow.UnixNano(p.Now), p.ID)
		if err != nil {
			return err
		}
		if row, err = getRun(ctx, tx, p.ID); err != nil {
			return err
		}
		if row.Status.Terminal() {
			return fmt.Errorf("run is %s: %w", row.Status, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: request cancel of run %q: %w", p.ID, err)
	}
	return row, nil
}
