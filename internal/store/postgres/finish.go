package postgres

import (
	"context"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
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
			return fmt.Errorf("postgres: finish attempt %d of step %q of run %q as %s: %w", p.Attempt, p.Name, p.RunID, p.Status, err)
		}
		return fmt.Errorf("postgres: finish step %q of run %q as %s: %w", p.Name, p.RunID, p.Status, err)
	}
	return nil
}

func (s *Store) stepFinish(ctx context.Context, p *store.StepFinishParams) error {
	f, err := sqlrow.NewFinish(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.RunID, p.Name) {
			return store.ErrNotFound
		}
		// The run, then the step: the order every write locks in.
		if err := fence(ctx, tx, p.RunID, p.Epoch, forShare); err != nil {
			return err
		}
		if err := lockStep(ctx, tx, p.RunID, p.Name); err != nil {
			return err
		}
		if p.Attempt > 0 {
			if err := updateLiveAttempt(ctx, tx,
				`status = $1, exit_code = $2, error = $3, finished_at = $4, handle = COALESCE($5, handle), sealed = NULL`,
				p.RunID, p.Name, p.Attempt, string(f.AttemptStatus), f.ExitCode, textBytes(p.Error), f.Now, nullBytes(p.Handle)); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE steps SET status = $1, exit_code = $2, error = $3,
			finished_at = $4, outputs = CASE WHEN $1 = 'succeeded' THEN $5 ELSE outputs END
			WHERE run_id = $6 AND name = $7 AND status NOT IN ('succeeded', 'failed', 'skipped', 'canceled')`,
			string(p.Status), f.ExitCode, textBytes(p.Error), f.Finished, f.Outputs, p.RunID, p.Name)
		if err != nil {
			return err
		}
		if !affected(tag) {
			return stepConflict(ctx, tx, p.RunID, p.Name)
		}
		if p.Attempt == 0 && p.Status.Terminal() {
			// The step ended over a running attempt's head: that attempt
			// is over too, and whatever it reports later is refused.
			_, err = tx.Exec(ctx, `UPDATE attempts SET status = 'canceled', finished_at = $1, sealed = NULL
				WHERE run_id = $2 AND step = $3 AND status = 'running'`, f.Now, p.RunID, p.Name)
		}
		return err
	})
}

// StepSetCleanup implements [store.Store.StepSetCleanup]. It applies to an
// attempt in any state.
func (s *Store) StepSetCleanup(ctx context.Context, p *store.StepSetCleanupParams) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.RunID, p.Name) {
			return store.ErrNotFound
		}
		if err := fence(ctx, tx, p.RunID, p.Epoch, forShare); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE attempts SET removed = $1, cleanup_error = $2, cleanup_tries = $3
			WHERE run_id = $4 AND step = $5 AND attempt = $6`,
			p.Removed, textBytes(p.Error), p.Tries, p.RunID, p.Name, p.Attempt)
		if err == nil && !affected(tag) {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: set cleanup of attempt %d of step %q of run %q: %w", p.Attempt, p.Name, p.RunID, err)
	}
	return nil
}
