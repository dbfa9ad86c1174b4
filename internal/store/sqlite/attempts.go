package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

const attemptColumns = `run_id, step, attempt, status, token_hash, handle, exit_code, error,
	outputs, removed, cleanup_error, cleanup_tries, image_digest, started_at, finished_at, sealed,
	log_bytes, log_dropped, executor`

// AttemptGet implements [store.Store.AttemptGet].
func (s *Store) AttemptGet(ctx context.Context, runID, step string, attempt int) (*store.AttemptRow, error) {
	row, err := scanAttempt(s.r.QueryRowContext(ctx, `SELECT `+attemptColumns+` FROM attempts
		WHERE run_id = ? AND step = ? AND attempt = ?`, runID, step, attempt))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: attempt %d of step %q of run %q: %w", attempt, step, runID, err)
	}
	return row, nil
}

// AttemptList implements [store.Store.AttemptList]. Steps come in listed
// order, each step's attempts in the order they started.
func (s *Store) AttemptList(ctx context.Context, runID string) ([]*store.AttemptRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+prefixed("a.", attemptColumns)+` FROM attempts a
		JOIN steps s ON s.run_id = a.run_id AND s.name = a.step
		WHERE a.run_id = ? ORDER BY s.idx, a.attempt`, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list attempts of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []*store.AttemptRow
	for rows.Next() {
		row, err := scanAttempt(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list attempts of run %q: %w", runID, err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list attempts of run %q: %w", runID, err)
	}
	return out, nil
}

// AttemptListUnremoved implements [store.Store.AttemptListUnremoved].
func (s *Store) AttemptListUnremoved(ctx context.Context) ([]*store.AttemptRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+attemptColumns+` FROM attempts
		WHERE removed = 0 AND status != ? AND handle IS NOT NULL AND length(handle) > 0
		ORDER BY run_id, step, attempt`, string(store.StepRunning))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list unremoved attempts: %w", err)
	}
	defer rows.Close()
	var out []*store.AttemptRow
	for rows.Next() {
		row, err := scanAttempt(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list unremoved attempts: %w", err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list unremoved attempts: %w", err)
	}
	return out, nil
}

func scanAttempt(sc scanner) (*store.AttemptRow, error) {
	var (
		row               store.AttemptRow
		exit              *int64
		outputs           *string
		removed           int
		started, finished int64
	)
	if err := sc.Scan(&row.RunID, &row.Step, &row.Attempt, &row.Status, &row.TokenHash, &row.Handle,
		&exit, &row.Error, &outputs, &removed, &row.CleanupError, &row.CleanupTries, &row.ImageDigest, &started, &finished, &row.Sealed,
		&row.LogBytes, &row.LogDropped, &row.Executor); err != nil {
		return nil, err
	}
	var err error
	if row.Outputs, err = sqlrow.DecodeMap(outputs); err != nil {
		return nil, fmt.Errorf("outputs: %w", err)
	}
	row.ExitCode = sqlrow.FromExitCode(exit)
	row.Removed = removed != 0
	row.StartedAt = sqlrow.FromUnixNano(started)
	row.FinishedAt = sqlrow.FromUnixNano(finished)
	return &row, nil
}

// AttemptSetImage implements [store.Store.AttemptSetImage]. Any attempt may
// record its image, finished or not: the executor may learn the digest late.
func (s *Store) AttemptSetImage(ctx context.Context, runID, step string, attempt int, digest string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE attempts SET image_digest = ?
			WHERE run_id = ? AND step = ? AND attempt = ?`, digest, runID, step, attempt)
		if err != nil {
			return err
		}
		ok, err := affected(res)
		if err == nil && !ok {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set image of attempt %d of step %q of run %q: %w", attempt, step, runID, err)
	}
	return nil
}
