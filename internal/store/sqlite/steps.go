package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// StepList implements [store.Store.StepList]. A run without steps, or no run
// at all, gives an empty list.
func (s *Store) StepList(ctx context.Context, runID string) ([]*store.StepRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT run_id, name, idx, status, attempts, exit_code,
		error, outputs, started_at, finished_at, parent, item, item_index
		FROM steps WHERE run_id = ? ORDER BY idx, item_index`, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list steps of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []*store.StepRow
	for rows.Next() {
		var (
			row               store.StepRow
			exit              *int64
			outputs           *string
			started, finished int64
		)
		if err := rows.Scan(&row.RunID, &row.Name, &row.Index, &row.Status, &row.Attempts, &exit,
			&row.Error, &outputs, &started, &finished, &row.Parent, &row.Item, &row.ItemIndex); err != nil {
			return nil, fmt.Errorf("sqlite: list steps of run %q: %w", runID, err)
		}
		if row.Outputs, err = sqlrow.DecodeMap(outputs); err != nil {
			return nil, fmt.Errorf("sqlite: list steps of run %q: step %q outputs: %w", runID, row.Name, err)
		}
		row.ExitCode = sqlrow.FromExitCode(exit)
		row.StartedAt = sqlrow.FromUnixNano(started)
		row.FinishedAt = sqlrow.FromUnixNano(finished)
		out = append(out, &row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list steps of run %q: %w", runID, err)
	}
	return out, nil
}

// StepStart implements [store.Store.StepStart]. The step's start time is
// that of its first attempt.
func (s *Store) StepStart(ctx context.Context, p *store.StepStartParams) error {
	now := sqlrow.UnixNano(p.Now)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fence(ctx, tx, p.RunID, p.Epoch); err != nil {
			return err
		}
		if err := roomForAttempt(ctx, tx, p.MaxRunning); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE steps SET status = 'running', attempts = ?1,
			started_at = CASE WHEN started_at = 0 THEN ?2 ELSE started_at END,
			finished_at = 0, exit_code = NULL, error = ''
			WHERE run_id = ?3 AND name = ?4 AND status IN ('pending', 'retrying') AND attempts = ?1 - 1`,
			p.Attempt, now, p.RunID, p.Name)
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
		_, err = tx.ExecContext(ctx, `INSERT INTO attempts (run_id, step, attempt, status, token_hash, started_at, sealed, executor)
			VALUES (?, ?, ?, 'running', ?, ?, ?, ?)`, p.RunID, p.Name, p.Attempt, p.TokenHash, now, p.Sealed, p.Executor)
		if err = mapErr(err); errors.Is(err, store.ErrExists) {
			return fmt.Errorf("attempt exists: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: start attempt %d of step %q of run %q: %w", p.Attempt, p.Name, p.RunID, err)
	}
	return nil
}

// stepConflict explains why an update of a step guarded by its state changed
// nothing: the step is missing or in another state.
func stepConflict(ctx context.Context, tx *sql.Tx, runID, name string) error {
	var (
		status   store.StepStatus
		attempts int
	)
	err := tx.QueryRowContext(ctx, `SELECT status, attempts FROM steps
		WHERE run_id = ? AND name = ?`, runID, name).Scan(&status, &attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("step is %s after %d attempts: %w", status, attempts, store.ErrConflict)
}

// liveAttempt is the condition that an attempt row is running and is its
// step's latest attempt: only such an attempt may still change.
const liveAttempt = `status = 'running' AND attempt =
	(SELECT attempts FROM steps WHERE steps.run_id = attempts.run_id AND steps.name = attempts.step)`

// attemptConflict explains why an update guarded by liveAttempt changed
// nothing: the attempt is missing, finished or superseded.
func attemptConflict(ctx context.Context, tx *sql.Tx, runID, step string, attempt int) error {
	var (
		status store.StepStatus
		latest int
	)
	err := tx.QueryRowContext(ctx, `SELECT a.status, s.attempts FROM attempts a
		JOIN steps s ON s.run_id = a.run_id AND s.name = a.step
		WHERE a.run_id = ? AND a.step = ? AND a.attempt = ?`, runID, step, attempt).Scan(&status, &latest)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	case status != store.StepRunning:
		return fmt.Errorf("attempt is %s: %w", status, store.ErrConflict)
	default:
		return fmt.Errorf("attempt %d superseded it: %w", latest, store.ErrConflict)
	}
}

// updateLiveAttempt runs an UPDATE of attempts whose WHERE clause ends with
// the attempt's key; it fails unless the attempt is live.
func updateLiveAttempt(ctx context.Context, tx *sql.Tx, set string, runID, step string, attempt int, args ...any) error {
	args = append(args, runID, step, attempt)
	res, err := tx.ExecContext(ctx, `UPDATE attempts SET `+set+`
		WHERE run_id = ? AND step = ? AND attempt = ? AND `+liveAttempt, args...)
	if err != nil {
		return err
	}
	if ok, err := affected(res); ok || err != nil {
		return err
	}
	return attemptConflict(ctx, tx, runID, step, attempt)
}

// StepSetHandle implements [store.Store.StepSetHandle].
func (s *Store) StepSetHandle(ctx context.Context, p *store.StepSetHandleParams) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fence(ctx, tx, p.RunID, p.Epoch); err != nil {
			return err
		}
		return updateLiveAttempt(ctx, tx, `handle = ?`, p.RunID, p.Name, p.Attempt, p.Handle)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set handle of attempt %d of step %q of run %q: %w", p.Attempt, p.Name, p.RunID, err)
	}
	return nil
}

// StepOutputsAdd implements [store.Store.StepOutputsAdd]: keys added later
// replace earlier values.
func (s *Store) StepOutputsAdd(ctx context.Context, p *store.StepOutputsAddParams) error {
	patch, err := sqlrow.EncodeMap(p.Outputs)
	if err == nil && patch == nil {
		empty := "{}"
		patch = &empty
	}
	if err == nil {
		err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return updateLiveAttempt(ctx, tx, `outputs = json_patch(coalesce(outputs, '{}'), ?)`,
				p.RunID, p.Name, p.Attempt, patch)
		})
	}
	if err != nil {
		return fmt.Errorf("sqlite: add outputs of attempt %d of step %q of run %q: %w", p.Attempt, p.Name, p.RunID, err)
	}
	return nil
}

// StepExpand implements [store.Store.StepExpand].
func (s *Store) StepExpand(ctx context.Context, p *store.StepExpandParams) error {
	if err := store.CheckStepExpand(p); err != nil {
		return fmt.Errorf("sqlite: expand step %q of run %q: %w", p.Name, p.RunID, err)
	}
	now := sqlrow.UnixNano(p.Now)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fence(ctx, tx, p.RunID, p.Epoch); err != nil {
			return err
		}
		var idx int
		err := tx.QueryRowContext(ctx, `UPDATE steps SET status = 'running', started_at = ?
			WHERE run_id = ? AND name = ? AND status = 'pending' AND parent = '' RETURNING idx`, now, p.RunID, p.Name).Scan(&idx)
		if errors.Is(err, sql.ErrNoRows) {
			return stepConflict(ctx, tx, p.RunID, p.Name)
		}
		if err != nil {
			return err
		}
		for i, item := range p.Items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO steps (run_id, name, idx, status, parent, item, item_index)
				VALUES (?, ?, ?, 'pending', ?, ?, ?)`, p.RunID, store.InstanceName(p.Name, i), idx, p.Name, item, i); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: expand step %q of run %q: %w", p.Name, p.RunID, err)
	}
	return nil
}
