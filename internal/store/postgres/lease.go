package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// unfinished is the SQL condition of a run that may be leased.
const unfinished = `status IN ('queued', 'running')`

// RunClaim implements [store.Store.RunClaim]. The runs are picked and
// locked in one statement, skipping those another transaction has locked
// (FOR UPDATE SKIP LOCKED): servers claiming at once take different runs
// instead of waiting on each other, and a run being written to under its
// current lease is left to the next claim.
func (s *Store) RunClaim(ctx context.Context, p *store.RunClaimParams) ([]*store.RunRow, error) {
	if err := store.CheckRunClaim(p); err != nil {
		return nil, fmt.Errorf("postgres: claim runs: %w", err)
	}
	var out []*store.RunRow
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		args := []any{p.Owner, sqlrow.UnixNano(p.Until)}
		arg := func(v any) string {
			args = append(args, v)
			return "$" + strconv.Itoa(len(args))
		}
		where := unfinished + ` AND lease_owner <> $1`
		if !p.Steal {
			where += ` AND (lease_owner = '' OR lease_until <= ` + arg(sqlrow.UnixNano(p.Now)) + `)`
		}
		if len(p.IDs) > 0 {
			where += ` AND id = ANY(` + arg(p.IDs) + `)`
		}
		if len(p.Executors) > 0 {
			where += ` AND executor = ANY(` + arg(p.Executors) + `)`
		}
		var limit *int // NULL: no bound
		if p.Limit > 0 {
			limit = &p.Limit
		}
		rows, err := tx.Query(ctx, `UPDATE runs SET lease_owner = $1, lease_epoch = lease_epoch + 1, lease_until = $2
			WHERE id IN (SELECT id FROM runs WHERE `+where+` ORDER BY created_at, id LIMIT `+arg(limit)+`
				FOR UPDATE SKIP LOCKED)
			RETURNING `+runColumns, args...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanRun)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim runs for %q: %w", p.Owner, err)
	}
	store.SortRunsOldestFirst(out) // RETURNING promises no order
	return out, nil
}

// LeaseRenew implements [store.Store.LeaseRenew].
func (s *Store) LeaseRenew(ctx context.Context, p *store.LeaseRenewParams) ([]store.LeaseHeld, error) {
	var out []store.LeaseHeld
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `UPDATE runs SET lease_until = $1
			WHERE lease_owner = $2 AND `+unfinished+`
			RETURNING id, lease_epoch, cancel_requested_at`, sqlrow.UnixNano(p.Until), p.Owner)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.LeaseHeld, error) {
			var (
				h      store.LeaseHeld
				cancel int64
			)
			err := row.Scan(&h.RunID, &h.Epoch, &cancel)
			h.CancelRequested = cancel != 0
			return h, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: renew leases of %q: %w", p.Owner, err)
	}
	return out, nil
}

// LeaseRelease implements [store.Store.LeaseRelease]. The epoch stays: the
// next claim raises it.
func (s *Store) LeaseRelease(ctx context.Context, p *store.LeaseReleaseParams) error {
	if len(p.RunIDs) == 0 {
		return nil
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE runs SET lease_owner = '', lease_until = 0
			WHERE lease_owner = $1 AND id = ANY($2)`, p.Owner, p.RunIDs)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: release leases of %q: %w", p.Owner, err)
	}
	return nil
}

// Row lock strengths a fence takes on its run.
const (
	// forShare keeps the epoch from changing until the write commits:
	// a claim waits for it, and writes under one lease share it.
	forShare = "FOR SHARE"
	// forUpdate is for a write that updates the run row itself, which
	// would otherwise have to trade a shared lock up (and deadlock with
	// another doing the same).
	forUpdate = "FOR NO KEY UPDATE"
)

// fence refuses a write to a run made under an epoch that is no longer the
// run's: [store.ErrFenced]. Epoch 0 is not fenced. The run's row stays
// locked until the write commits, so no claim can come between the check
// and the change.
func fence(ctx context.Context, tx pgx.Tx, runID string, epoch int64, lock string) error {
	if epoch == 0 {
		return nil
	}
	var now int64
	err := tx.QueryRow(ctx, `SELECT lease_epoch FROM runs WHERE id = $1 `+lock, runID).Scan(&now)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return store.CheckEpoch(epoch, now)
}

// admit checks a queued run's way through its pipeline's gate; see
// [store.RunSetStatusParams.Gate]. A run that is not queued passes: it was
// admitted before. It needs no lock: runs are admitted oldest first, so an
// older run's admission still in flight leaves that run queued to this
// one's count, and this one waits; the count sees every admission before.
func admit(ctx context.Context, tx pgx.Tx, runID string, g *store.Gate) error {
	var (
		pipeline string
		status   store.RunStatus
		created  int64
	)
	err := tx.QueryRow(ctx, `SELECT pipeline, status, created_at FROM runs WHERE id = $1`, runID).Scan(&pipeline, &status, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil || status != store.RunQueued {
		return err
	}
	var running, older int
	err = tx.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE status = 'running'),
		count(*) FILTER (WHERE status = 'queued' AND (created_at < $1 OR (created_at = $1 AND id < $2)))
		FROM runs WHERE pipeline = $3 AND `+unfinished, created, runID, pipeline).Scan(&running, &older)
	if err != nil {
		return err
	}
	return g.Admit(pipeline, running, older)
}

// roomForAttempt checks the bound on attempts running in the whole store,
// under the store's attempts lock, so that starts at once cannot both take
// the last place; see [store.StepStartParams.MaxRunning].
func roomForAttempt(ctx context.Context, tx pgx.Tx, max int) error {
	if max <= 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('baton attempts ' || current_schema(), 0))`); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE status = 'running'`).Scan(&n); err != nil {
		return err
	}
	return store.CheckAttemptRoom(n, max)
}
