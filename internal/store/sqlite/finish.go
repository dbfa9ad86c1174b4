package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// StepFinish implements [store.Store.StepFinish]. The attempt keeps the
// status the step got, except that a step going to retry leaves its attempt
// failed and a skipped step's attempt is canceled. A step ended without an
// attempt (p.Attempt 0) while one runs has that attempt canceled. An ended
// attempt drops what it was started with (its sealed blob).
func (s *Store) StepFinish(ctx context.Context, p *store.StepFinishParams) error {
	err := s.stepFinish(ctx, p)
	if err != nil {
		if p.Attempt > 0 {
			return fmt.Errorf("sqlite: finish attempt %d of step %q of run %q as %s: %w", p.Attempt, p.Name, p.RunID, p.Status, err)
		}
		return fmt.Errorf("sqlite: finish step %q of run %q as %s: %w", p.Name, p.RunID, p.Status, err)
	}
	return nil
}

func (s *Store) stepFinish(ctx context.Context, p *store.StepFinishParams) error {
	f, err := sqlrow.NewFinish(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fence(ctx, tx, p.RunID, p.Epoch); err != nil {
			return err
		}
		if p.Attempt > 0 {
			if err := updateLiveAttempt(ctx, tx,
				`status = ?, exit_code = ?, error = ?, finished_at = ?, handle = COALESCE(?, handle), sealed = NULL`,
				p.RunID, p.Name, p.Attempt, f.AttemptStatus, f.ExitCode, p.Error, f.Now, nullBytes(p.Handle)); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE steps SET status = ?1, exit_code = ?2, error = ?3,
			finished_at = ?4, outputs = CASE WHEN ?1 = 'succeeded' THEN ?5 ELSE outputs END
			WHERE run_id = ?6 AND name = ?7 AND status NOT IN ('succeeded', 'failed', 'skipped', 'canceled')`,
			p.Status, f.ExitCode, p.Error, f.Finished, f.Outputs, p.RunID, p.Name)
		if err != nil {
			return err
		}
		ok, err := affected(res)
		if err != nil {
			return err
		}
		if !ok {
			return stepConflict(ctx, tx, p.RunID, p.Name)
		}
		if p.Attempt == 0 && p.Status.Terminal() {
			// The step ended over a running attempt's head: that attempt
			// is over too, and whatever it reports later is refused.
			_, err = tx.ExecContext(ctx, `UPDATE attempts SET status = 'canceled', finished_at = ?, sealed = NULL
				WHERE run_id = ? AND step = ? AND status = 'running'`, f.Now, p.RunID, p.Name)
		}
		return err
	})
}

// StepSetCleanup implements [store.Store.StepSetCleanup]. It applies to an
// attempt in any state.
func (s *Store) StepSetCleanup(ctx context.Context, p *store.StepSetCleanupParams) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fence(ctx, tx, p.RunID, p.Epoch); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE attempts SET removed = ?, cleanup_error = ?, cleanup_tries = ?
			WHERE run_id = ? AND step = ? AND attempt = ?`,
			boolInt(p.Removed), p.Error, p.Tries, p.RunID, p.Name, p.Attempt)
		if err != nil {
			return err
		}
		ok, err := affected(res)
		if err == nil && !ok {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set cleanup of attempt %d of step %q of run %q: %w", p.Attempt, p.Name, p.RunID, err)
	}
	return nil
}

// nullBytes is NULL for an empty slice, so COALESCE keeps what is stored.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
