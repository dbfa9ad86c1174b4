package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

const attemptColumns = `run_id, step, attempt, status, token_hash, handle, exit_code, error,
	outputs, removed, cleanup_error, cleanup_tries, image_digest, started_at, finished_at, sealed,
	log_bytes, log_dropped, executor`

// AttemptGet implements [store.Store.AttemptGet].
func (s *Store) AttemptGet(ctx context.Context, runID, step string, attempt int) (*store.AttemptRow, error) {
	var (
		row *store.AttemptRow
		err = store.ErrNotFound
	)
	if findable(runID, step) {
		row, err = queryOne(ctx, s, scanAttempt, `SELECT `+attemptColumns+` FROM attempts
			WHERE run_id = $1 AND step = $2 AND attempt = $3`, runID, step, attempt)
		if errors.Is(err, pgx.ErrNoRows) {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: attempt %d of step %q of run %q: %w", attempt, step, runID, err)
	}
	return row, nil
}

// AttemptList implements [store.Store.AttemptList]. Steps come in listed
// order, each step's attempts in the order they started.
func (s *Store) AttemptList(ctx context.Context, runID string) ([]*store.AttemptRow, error) {
	if !findable(runID) {
		return nil, nil
	}
	out, err := queryAll(ctx, s, scanAttempt, `SELECT `+prefixed("a.", attemptColumns)+` FROM attempts a
		JOIN steps s ON s.run_id = a.run_id AND s.name = a.step
		WHERE a.run_id = $1 ORDER BY s.idx, a.attempt`, runID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list attempts of run %q: %w", runID, err)
	}
	return out, nil
}

// AttemptListUnremoved implements [store.Store.AttemptListUnremoved].
func (s *Store) AttemptListUnremoved(ctx context.Context) ([]*store.AttemptRow, error) {
	out, err := queryAll(ctx, s, scanAttempt, `SELECT `+attemptColumns+` FROM attempts
		WHERE NOT removed AND status <> 'running' AND handle IS NOT NULL AND length(handle) > 0
		ORDER BY run_id, step, attempt`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list unremoved attempts: %w", err)
	}
	return out, nil
}

func scanAttempt(sc pgx.Row) (*store.AttemptRow, error) {
	var (
		row                   store.AttemptRow
		exit                  *int64
		errText, cleanupError []byte
		outputs               *string
		started, finished     int64
	)
	if err := sc.Scan(&row.RunID, &row.Step, &row.Attempt, &row.Status, &row.TokenHash, &row.Handle,
		&exit, &errText, &outputs, &row.Removed, &cleanupError, &row.CleanupTries, &row.ImageDigest,
		&started, &finished, &row.Sealed, &row.LogBytes, &row.LogDropped, &row.Executor); err != nil {
		return nil, err
	}
	var err error
	if row.Outputs, err = sqlrow.DecodeMap(outputs); err != nil {
		return nil, fmt.Errorf("outputs: %w", err)
	}
	row.ExitCode = sqlrow.FromExitCode(exit)
	row.Error = string(errText)
	row.CleanupError = string(cleanupError)
	row.StartedAt = sqlrow.FromUnixNano(started)
	row.FinishedAt = sqlrow.FromUnixNano(finished)
	return &row, nil
}

// AttemptSetImage implements [store.Store.AttemptSetImage]. Any attempt may
// record its image, finished or not: the executor may learn the digest late.
func (s *Store) AttemptSetImage(ctx context.Context, runID, step string, attempt int, digest string) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(runID, step) {
			return store.ErrNotFound
		}
		tag, err := tx.Exec(ctx, `UPDATE attempts SET image_digest = $1
			WHERE run_id = $2 AND step = $3 AND attempt = $4`, digest, runID, step, attempt)
		if err == nil && !affected(tag) {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: set image of attempt %d of step %q of run %q: %w", attempt, step, runID, err)
	}
	return nil
}

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
