package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// StepList implements [store.Store.StepList]. A run without steps, or no run
// at all, gives an empty list.
func (s *Store) StepList(ctx context.Context, runID string) ([]*store.StepRow, error) {
	if !findable(runID) {
		return nil, nil
	}
	out, err := queryAll(ctx, s, scanStep, `SELECT run_id, name, idx, status, attempts, exit_code,
		error, outputs, started_at, finished_at, parent, item, item_index
		FROM steps WHERE run_id = $1 ORDER BY idx, item_index`, runID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list steps of run %q: %w", runID, err)
	}
	return out, nil
}

func scanStep(sc pgx.Row) (*store.StepRow, error) {
	var (
		row               store.StepRow
		exit              *int64
		errText           []byte
		outputs           *string
		started, finished int64
		item              []byte
	)
	if err := sc.Scan(&row.RunID, &row.Name, &row.Index, &row.Status, &row.Attempts, &exit,
		&errText, &outputs, &started, &finished, &row.Parent, &item, &row.ItemIndex); err != nil {
		return nil, err
	}
	row.Item = string(item)
	var err error
	if row.Outputs, err = sqlrow.DecodeMap(outputs); err != nil {
		return nil, fmt.Errorf("step %q outputs: %w", row.Name, err)
	}
	row.ExitCode = sqlrow.FromExitCode(exit)
	row.Error = string(errText)
	row.StartedAt = sqlrow.FromUnixNano(started)
	row.FinishedAt = sqlrow.FromUnixNano(finished)
	return &row, nil
}

// StepStart implements [store.Store.StepStart]. The step's start time is
// that of its first attempt.
func (s *Store) StepStart(ctx context.Context, p *store.StepStartParams) error {
	now := sqlrow.UnixNano(p.Now)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.RunID, p.Name) {
			return store.ErrNotFound
		}
		if err := roomForAttempt(ctx, tx, p.MaxRunning); err != nil {
			return err
		}
		if err := fence(ctx, tx, p.RunID, p.Epoch, forShare); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE steps SET status = 'running', attempts = $1,
			started_at = CASE WHEN started_at = 0 THEN $2 ELSE started_at END,
			finished_at = 0, exit_code = NULL, error = ''
			WHERE run_id = $3 AND name = $4 AND status IN ('pending', 'retrying') AND attempts = $1 - 1`,
			p.Attempt, now, p.RunID, p.Name)
		if err != nil {
			return err
		}
		if !affected(tag) {
			return stepConflict(ctx, tx, p.RunID, p.Name)
		}
		_, err = tx.Exec(ctx, `INSERT INTO attempts (run_id, step, attempt, status, token_hash, started_at, sealed, executor)
			VALUES ($1, $2, $3, 'running', $4, $5, $6, $7)`, p.RunID, p.Name, p.Attempt, p.TokenHash, now, p.Sealed, p.Executor)
		if uniqueViolation(err) {
			return fmt.Errorf("attempt exists: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: start attempt %d of step %q of run %q: %w", p.Attempt, p.Name, p.RunID, err)
	}
	return nil
}

// uniqueViolation reports whether err is a key already taken.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// lockStep takes the step's row lock, the one writes that change a step
// and its attempts, or append to its log, queue on; a missing step is
// [store.ErrNotFound].
func lockStep(ctx context.Context, tx pgx.Tx, runID, name string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM steps WHERE run_id = $1 AND name = $2 FOR NO KEY UPDATE`,
		runID, name).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// stepConflict explains why an update of a step guarded by its state changed
// nothing: the step is missing or in another state.
func stepConflict(ctx context.Context, tx pgx.Tx, runID, name string) error {
	var (
		status   store.StepStatus
		attempts int
	)
	err := tx.QueryRow(ctx, `SELECT status, attempts FROM steps
		WHERE run_id = $1 AND name = $2`, runID, name).Scan(&status, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
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
func attemptConflict(ctx context.Context, tx pgx.Tx, runID, step string, attempt int) error {
	var (
		status store.StepStatus
		latest int
	)
	err := tx.QueryRow(ctx, `SELECT a.status, s.attempts FROM attempts a
		JOIN steps s ON s.run_id = a.run_id AND s.name = a.step
		WHERE a.run_id = $1 AND a.step = $2 AND a.attempt = $3`, runID, step, attempt).Scan(&status, &latest)
	return explainAttempt(err, status, latest)
}

// explainAttempt turns what was read of an attempt that may not change
// into the reason.
func explainAttempt(err error, status store.StepStatus, latest int) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	case status != store.StepRunning:
		return fmt.Errorf("attempt is %s: %w", status, store.ErrConflict)
	default:
		return fmt.Errorf("attempt %d superseded it: %w", latest, store.ErrConflict)
	}
}

// updateLiveAttempt sets columns of an attempt, set naming its arguments
// $1 to $len(args); it fails unless the attempt is live.
func updateLiveAttempt(ctx context.Context, tx pgx.Tx, set string, runID, step string, attempt int, args ...any) error {
	n := len(args)
	args = append(args, runID, step, attempt)
	tag, err := tx.Exec(ctx, `UPDATE attempts SET `+set+`
		WHERE run_id = $`+strconv.Itoa(n+1)+` AND step = $`+strconv.Itoa(n+2)+` AND attempt = $`+strconv.Itoa(n+3)+`
		AND `+liveAttempt, args...)
	if err != nil {
		return err
	}
	if affected(tag) {
		return nil
	}
	return attemptConflict(ctx, tx, runID, step, attempt)
}

// StepSetHandle implements [store.Store.StepSetHandle].
func (s *Store) StepSetHandle(ctx context.Context, p *store.StepSetHandleParams) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.RunID, p.Name) {
			return store.ErrNotFound
		}
		if err := fence(ctx, tx, p.RunID, p.Epoch, forShare); err != nil {
			return err
		}
		return updateLiveAttempt(ctx, tx, `handle = $1`, p.RunID, p.Name, p.Attempt, p.Handle)
	})
	if err != nil {
		return fmt.Errorf("postgres: set handle of attempt %d of step %q of run %q: %w", p.Attempt, p.Name, p.RunID, err)
	}
	return nil
}

// StepOutputsAdd implements [store.Store.StepOutputsAdd]: keys added later
// replace earlier values. The merge is done here, on the attempt's row
// locked, since jsonb, which could merge in SQL, refuses a value that
// holds a NUL.
func (s *Store) StepOutputsAdd(ctx context.Context, p *store.StepOutputsAddParams) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.RunID, p.Name) {
			return store.ErrNotFound
		}
		var (
			status store.StepStatus
			latest int
			stored *string
		)
		err := tx.QueryRow(ctx, `SELECT a.status, s.attempts, a.outputs FROM attempts a
			JOIN steps s ON s.run_id = a.run_id AND s.name = a.step
			WHERE a.run_id = $1 AND a.step = $2 AND a.attempt = $3
			FOR UPDATE OF a`, p.RunID, p.Name, p.Attempt).Scan(&status, &latest, &stored)
		if err != nil || status != store.StepRunning || latest != p.Attempt {
			return explainAttempt(err, status, latest)
		}
		merged, err := sqlrow.DecodeMap(stored)
		if err != nil {
			return fmt.Errorf("stored outputs: %w", err)
		}
		if merged == nil {
			merged = make(map[string]string, len(p.Outputs))
		}
		maps.Copy(merged, p.Outputs)
		enc, err := sqlrow.EncodeMap(merged)
		if err != nil {
			return err
		}
		if enc == nil {
			empty := "{}"
			enc = &empty
		}
		_, err = tx.Exec(ctx, `UPDATE attempts SET outputs = $1 WHERE run_id = $2 AND step = $3 AND attempt = $4`,
			enc, p.RunID, p.Name, p.Attempt)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: add outputs of attempt %d of step %q of run %q: %w", p.Attempt, p.Name, p.RunID, err)
	}
	return nil
}

// StepExpand implements [store.Store.StepExpand]: the instances go in as
// one statement, a column per array.
func (s *Store) StepExpand(ctx context.Context, p *store.StepExpandParams) error {
	if err := store.CheckStepExpand(p); err != nil {
		return fmt.Errorf("postgres: expand step %q of run %q: %w", p.Name, p.RunID, err)
	}
	now := sqlrow.UnixNano(p.Now)
	names := make([]string, len(p.Items))
	items := make([][]byte, len(p.Items))
	index := make([]int32, len(p.Items))
	for i, item := range p.Items {
		names[i], items[i], index[i] = store.InstanceName(p.Name, i), []byte(item), int32(i)
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.RunID, p.Name) {
			return store.ErrNotFound
		}
		if err := fence(ctx, tx, p.RunID, p.Epoch, forShare); err != nil {
			return err
		}
		var idx int
		err := tx.QueryRow(ctx, `UPDATE steps SET status = 'running', started_at = $1
			WHERE run_id = $2 AND name = $3 AND status = 'pending' AND parent = '' RETURNING idx`, now, p.RunID, p.Name).Scan(&idx)
		if errors.Is(err, pgx.ErrNoRows) {
			return stepConflict(ctx, tx, p.RunID, p.Name)
		}
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO steps (run_id, name, idx, status, parent, item, item_index)
			SELECT $1, i.name, $2, 'pending', $3, i.item, i.item_index
			FROM unnest($4::text[], $5::bytea[], $6::integer[]) AS i (name, item, item_index)`,
			p.RunID, idx, p.Name, names, items, index)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: expand step %q of run %q: %w", p.Name, p.RunID, err)
	}
	return nil
}
