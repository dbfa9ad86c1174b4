package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// RunCreate implements [store.Store.RunCreate]. A run whose ID is taken is
// [store.ErrExists]; one whose key is taken, a [*store.RunKeyExistsError]
// with the run that has it. Done steps succeeded at p.Now, without
// attempts.
func (s *Store) RunCreate(ctx context.Context, p *store.RunCreateParams) (*store.RunRow, error) {
	run, err := sqlrow.NewRun(p)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create run %q: %w", p.ID, err)
	}
	now, lease := sqlrow.UnixNano(p.Now), run.Row.Lease
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := runKeyFree(ctx, tx, p.Key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs
			(id, pipeline, revision, status, params, vars, executor, retry_of, created_at,
			lease_owner, lease_epoch, lease_until, parent_run, parent_step, parent_attempt)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Pipeline, p.Revision, store.RunQueued, run.Params, run.Vars, p.Executor, p.RetryOf, now,
			p.Owner, lease.Epoch, sqlrow.UnixNano(lease.Until), p.Parent.RunID, p.Parent.Step, p.Parent.Attempt); err != nil {
			return mapErr(err)
		}
		if err := setRunKey(ctx, tx, p.ID, p.Key); err != nil {
			return err
		}
		for i, name := range p.Steps {
			var err error
			if outputs, ok := run.Done[name]; ok {
				_, err = tx.ExecContext(ctx, `INSERT INTO steps
					(run_id, name, idx, status, outputs, started_at, finished_at)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, p.ID, name, i, store.StepSucceeded, outputs, now, now)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO steps (run_id, name, idx, status)
					VALUES (?, ?, ?, ?)`, p.ID, name, i, store.StepPending)
			}
			if err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return store.RunKeyHolder(err), fmt.Errorf("sqlite: create run %q: %w", p.ID, err)
	}
	return run.Row, nil
}

const runColumns = `id, pipeline, revision, status, params, vars, executor, error,
	retry_of, created_at, started_at, finished_at, cancel_requested_at,
	lease_owner, lease_epoch, lease_until, parent_run, parent_step, parent_attempt`

// RunGet implements [store.Store.RunGet].
func (s *Store) RunGet(ctx context.Context, id string) (*store.RunRow, error) {
	row, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: run %q: %w", id, err)
	}
	return row, nil
}

// RunList implements [store.Store.RunList]: newest first, and among runs
// created at the same time, by ID descending.
func (s *Store) RunList(ctx context.Context, p *store.RunListParams) ([]*store.RunRow, error) {
	if err := store.CheckRunList(p); err != nil {
		return nil, fmt.Errorf("sqlite: list runs: %w", err)
	}
	var (
		where []string
		args  []any
	)
	if p.Pipeline != "" {
		where = append(where, "pipeline = ?")
		args = append(args, p.Pipeline)
	}
	if p.Key != "" {
		where = append(where, "trigger_key = ? AND trigger_key <> ''") // the second term lets SQLite use the partial index
		args = append(args, p.Key)
	}
	if len(p.Statuses) > 0 {
		marks := strings.Repeat(", ?", len(p.Statuses))[2:]
		where = append(where, "status IN ("+marks+")")
		for _, st := range p.Statuses {
			args = append(args, string(st))
		}
	}
	if p.Before != "" {
		var created int64
		err := s.r.QueryRowContext(ctx, `SELECT created_at FROM runs WHERE id = ?`, p.Before).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlite: list runs before %q: %w", p.Before, store.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: list runs: %w", err)
		}
		// The first term bounds the index walk (the OR alone makes
		// SQLite start from the newest run, however deep the page).
		where = append(where, "created_at <= ? AND (created_at < ? OR id < ?)")
		args = append(args, created, created, p.Before)
	}
	if !p.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, sqlrow.UnixNano(p.Since))
	}
	if !p.Until.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, sqlrow.UnixNano(p.Until))
	}
	for _, name := range slices.Sorted(maps.Keys(p.Params)) {
		// A substring of the stored JSON (see sqlrow.ParamMatch), tested
		// on each run the index walk meets until the page is full.
		first, later, err := sqlrow.ParamMatch(name, p.Params[name])
		if err != nil {
			return nil, fmt.Errorf("sqlite: list runs: param %q: %w", name, err)
		}
		where = append(where, "(instr(params, ?) > 0 OR instr(params, ?) > 0)")
		args = append(args, first, later)
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, p.Max())

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list runs: %w", err)
	}
	defer rows.Close()
	var out []*store.RunRow
	for rows.Next() {
		row, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list runs: %w", err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list runs: %w", err)
	}
	return out, nil
}

// RunSetStatus implements [store.Store.RunSetStatus]. Moving to running
// sets the start time once; a terminal status sets the finish time and ends
// the steps and attempts that had not ended.
func (s *Store) RunSetStatus(ctx context.Context, p *store.RunSetStatusParams) error {
	if err := store.CheckRunSetStatus(p); err != nil {
		return fmt.Errorf("sqlite: set status of run %q: %w", p.ID, err)
	}
	now := sqlrow.UnixNano(p.Now)
	var finished int64
	if p.Status.Terminal() {
		finished = now
	}
	var started int64
	if p.Status == store.RunRunning {
		started = now
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fence(ctx, tx, p.ID, p.Epoch); err != nil {
			return err
		}
		if p.Gate != nil && p.Status == store.RunRunning {
			if err := admit(ctx, tx, p.ID, p.Gate); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?1, error = ?2,
			started_at = CASE WHEN started_at = 0 THEN ?3 ELSE started_at END,
			finished_at = ?4
			WHERE id = ?5 AND status NOT IN ('succeeded', 'failed', 'canceled')`,
			p.Status, p.Error, started, finished, p.ID)
		if err != nil {
			return err
		}
		ok, err := affected(res)
		if err != nil {
			return err
		}
		if ok {
			if !p.Status.Terminal() {
				return nil
			}
			if err := endLeftovers(ctx, tx, p.ID, finished); err != nil {
				return err
			}
			return queueNotifications(ctx, tx, p, finished)
		}
		var status store.RunStatus
		err = tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, p.ID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("run is %s: %w", status, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set status of run %q to %s: %w", p.ID, p.Status, err)
	}
	return nil
}

func scanRun(sc scanner) (*store.RunRow, error) {
	var (
		row                        store.RunRow
		params, vars               *string
		created, started, finished int64
		cancelRequested            int64
		leaseUntil                 int64
	)
	if err := sc.Scan(&row.ID, &row.Pipeline, &row.Revision, &row.Status, &params, &vars,
		&row.Executor, &row.Error, &row.RetryOf, &created, &started, &finished, &cancelRequested,
		&row.Lease.Owner, &row.Lease.Epoch, &leaseUntil,
		&row.Parent.RunID, &row.Parent.Step, &row.Parent.Attempt); err != nil {
		return nil, err
	}
	var err error
	if row.Params, err = sqlrow.DecodeMap(params); err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	if row.Vars, err = sqlrow.DecodeMap(vars); err != nil {
		return nil, fmt.Errorf("vars: %w", err)
	}
	row.CreatedAt = sqlrow.FromUnixNano(created)
	row.StartedAt = sqlrow.FromUnixNano(started)
	row.FinishedAt = sqlrow.FromUnixNano(finished)
	row.CancelRequestedAt = sqlrow.FromUnixNano(cancelRequested)
	row.Lease.Until = sqlrow.FromUnixNano(leaseUntil)
	return &row, nil
}
