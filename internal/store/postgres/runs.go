package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// RunCreate implements [store.Store.RunCreate]. A run whose ID is taken is
// [store.ErrExists]. Done steps succeeded at p.Now, without attempts.
func (s *Store) RunCreate(ctx context.Context, p *store.RunCreateParams) (*store.RunRow, error) {
	run, err := sqlrow.NewRun(p)
	if err != nil {
		return nil, fmt.Errorf("postgres: create run %q: %w", p.ID, err)
	}
	now, lease := sqlrow.UnixNano(p.Now), run.Row.Lease
	// The steps go in as one statement, a column per array.
	var (
		idx     = make([]int32, len(p.Steps))
		status  = make([]string, len(p.Steps))
		outputs = make([]*string, len(p.Steps))
		at      = make([]int64, len(p.Steps))
	)
	for i, name := range p.Steps {
		idx[i], status[i] = int32(i), string(store.StepPending)
		if out, ok := run.Done[name]; ok {
			outputs[i], status[i], at[i] = out, string(store.StepSucceeded), now
		}
	}
	err = s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := runKeyFree(ctx, tx, p.Key); err != nil {
			return err
		}
		// A run that takes the ID or the key first is waited for; then
		// this one inserts nothing and says which it lost to.
		tag, err := tx.Exec(ctx, `INSERT INTO runs
			(id, pipeline, revision, status, params, vars, executor, retry_of, created_at,
			trigger_key, lease_owner, lease_epoch, lease_until, parent_run, parent_step, parent_attempt)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT DO NOTHING`,
			p.ID, p.Pipeline, p.Revision, string(store.RunQueued), run.Params, run.Vars, p.Executor, p.RetryOf, now,
			p.Key, p.Owner, lease.Epoch, sqlrow.UnixNano(lease.Until), p.Parent.RunID, p.Parent.Step, p.Parent.Attempt)
		if err != nil {
			return err
		}
		if !affected(tag) {
			if err := runKeyFree(ctx, tx, p.Key); err != nil {
				return err
			}
			return fmt.Errorf("a run with that ID exists: %w", store.ErrExists)
		}
		if len(p.Steps) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO steps (run_id, name, idx, status, outputs, started_at, finished_at)
			SELECT $1, s.name, s.idx, s.status, s.outputs, s.at, s.at
			FROM unnest($2::text[], $3::integer[], $4::text[], $5::text[], $6::bigint[]) AS s (name, idx, status, outputs, at)`,
			p.ID, p.Steps, idx, status, outputs, at)
		return err
	})
	if err != nil {
		return store.RunKeyHolder(err), fmt.Errorf("postgres: create run %q: %w", p.ID, err)
	}
	return run.Row, nil
}

// runKeyFree returns a [*store.RunKeyExistsError] with the run that has
// key, if one has; an empty key is no key.
func runKeyFree(ctx context.Context, tx pgx.Tx, key string) error {
	if key == "" || !findable(key) {
		return nil
	}
	row, err := scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE trigger_key = $1`, key))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("look up run key: %w", err)
	}
	return &store.RunKeyExistsError{Key: key, Run: row}
}

const runColumns = `id, pipeline, revision, status, params, vars, executor, error,
	retry_of, created_at, started_at, finished_at, cancel_requested_at,
	lease_owner, lease_epoch, lease_until, parent_run, parent_step, parent_attempt`

// RunGet implements [store.Store.RunGet].
func (s *Store) RunGet(ctx context.Context, id string) (*store.RunRow, error) {
	var row *store.RunRow
	err := s.read(ctx, func() (err error) {
		row, err = getRun(ctx, s.pool, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: run %q: %w", id, err)
	}
	return row, nil
}

// getRun reads one run; a missing one is [store.ErrNotFound].
func getRun(ctx context.Context, q querier, id string) (*store.RunRow, error) {
	if !findable(id) {
		return nil, store.ErrNotFound
	}
	row, err := scanRun(q.QueryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return row, err
}

// RunList implements [store.Store.RunList]: newest first, and among runs
// created at the same time, by ID descending.
func (s *Store) RunList(ctx context.Context, p *store.RunListParams) ([]*store.RunRow, error) {
	if err := store.CheckRunList(p); err != nil {
		return nil, fmt.Errorf("postgres: list runs: %w", err)
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if p.Pipeline != "" {
		if !findable(p.Pipeline) {
			return nil, nil
		}
		where = append(where, "pipeline = "+arg(p.Pipeline))
	}
	if p.Key != "" {
		if !findable(p.Key) {
			return nil, nil
		}
		where = append(where, "trigger_key = "+arg(p.Key))
	}
	if len(p.Statuses) > 0 {
		var statuses []string
		for _, st := range p.Statuses {
			if storableText(string(st)) { // no other names a run
				statuses = append(statuses, string(st))
			}
		}
		if len(statuses) == 0 {
			return nil, nil
		}
		where = append(where, "status = ANY("+arg(statuses)+")")
	}
	if p.Before != "" {
		var created int64
		err := errNotFoundOr(findable(p.Before))
		if err == nil {
			err = s.pool.QueryRow(ctx, `SELECT created_at FROM runs WHERE id = $1`, p.Before).Scan(&created)
		}
		if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("postgres: list runs before %q: %w", p.Before, store.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: list runs: %w", err)
		}
		c, id := arg(created), arg(p.Before)
		where = append(where, "(created_at, id) < ("+c+", "+id+")")
	}
	if !p.Since.IsZero() {
		where = append(where, "created_at >= "+arg(sqlrow.UnixNano(p.Since)))
	}
	if !p.Until.IsZero() {
		where = append(where, "created_at < "+arg(sqlrow.UnixNano(p.Until)))
	}
	for _, name := range slices.Sorted(maps.Keys(p.Params)) {
		// A substring of the stored JSON (see sqlrow.ParamMatch), tested
		// on each run the index walk meets until the page is full: the
		// JSON operators would fail on every run with a \u0000 in a param.
		first, later, err := sqlrow.ParamMatch(name, p.Params[name])
		if err != nil {
			return nil, fmt.Errorf("postgres: list runs: param %q: %w", name, err)
		}
		where = append(where, "(strpos(params, "+arg(first)+") > 0 OR strpos(params, "+arg(later)+") > 0)")
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT " + arg(p.Max())

	out, err := queryAll(ctx, s, scanRun, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list runs: %w", err)
	}
	return out, nil
}

// RunSetStatus implements [store.Store.RunSetStatus]. Moving to running
// sets the start time once; a terminal status sets the finish time and ends
// the steps and attempts that had not ended.
func (s *Store) RunSetStatus(ctx context.Context, p *store.RunSetStatusParams) error {
	if err := store.CheckRunSetStatus(p); err != nil {
		return fmt.Errorf("postgres: set status of run %q: %w", p.ID, err)
	}
	now := sqlrow.UnixNano(p.Now)
	var finished, started int64
	if p.Status.Terminal() {
		finished = now
	}
	if p.Status == store.RunRunning {
		started = now
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.ID) {
			return store.ErrNotFound
		}
		if err := fence(ctx, tx, p.ID, p.Epoch, forUpdate); err != nil {
			return err
		}
		if p.Gate != nil && p.Status == store.RunRunning {
			if err := admit(ctx, tx, p.ID, p.Gate); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE runs SET status = $1, error = $2,
			started_at = CASE WHEN started_at = 0 THEN $3 ELSE started_at END,
			finished_at = $4
			WHERE id = $5 AND status NOT IN ('succeeded', 'failed', 'canceled')`,
			string(p.Status), textBytes(p.Error), started, finished, p.ID)
		if err != nil {
			return err
		}
		if affected(tag) {
			if !p.Status.Terminal() {
				return nil
			}
			if err := endLeftovers(ctx, tx, p.ID, finished); err != nil {
				return err
			}
			return queueNotifications(ctx, tx, p, finished)
		}
		var status store.RunStatus
		err = tx.QueryRow(ctx, `SELECT status FROM runs WHERE id = $1`, p.ID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("run is %s: %w", status, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("postgres: set status of run %q to %s: %w", p.ID, p.Status, err)
	}
	return nil
}

func scanRun(sc pgx.Row) (*store.RunRow, error) {
	var (
		row                         store.RunRow
		params, vars                *string
		errText                     []byte
		created, started, finished  int64
		cancelRequested, leaseUntil int64
	)
	if err := sc.Scan(&row.ID, &row.Pipeline, &row.Revision, &row.Status, &params, &vars,
		&row.Executor, &errText, &row.RetryOf, &created, &started, &finished, &cancelRequested,
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
	row.Error = string(errText)
	row.CreatedAt = sqlrow.FromUnixNano(created)
	row.StartedAt = sqlrow.FromUnixNano(started)
	row.FinishedAt = sqlrow.FromUnixNano(finished)
	row.CancelRequestedAt = sqlrow.FromUnixNano(cancelRequested)
	row.Lease.Until = sqlrow.FromUnixNano(leaseUntil)
	return &row, nil
}

// errNotFoundOr is ErrNotFound when a name cannot be stored at all (see
// findable), so no run has it.
func errNotFoundOr(ok bool) error {
	if ok {
		return nil
	}
	return store.ErrNotFound
}
