package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// unfinished is the SQL condition of a run that may be leased.
const unfinished = `status IN ('queued', 'running')`

// RunClaim implements [store.Store.RunClaim]. One writer makes every
// write, so the claim needs no row locks: no write of another server can
// come between the runs it picks and the epochs it raises.
func (s *Store) RunClaim(ctx context.Context, p *store.RunClaimParams) ([]*store.RunRow, error) {
	if err := store.CheckRunClaim(p); err != nil {
		return nil, fmt.Errorf("sqlite: claim runs: %w", err)
	}
	var out []*store.RunRow
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = nil
		where := unfinished + ` AND lease_owner != ?`
		args := []any{p.Owner}
		if !p.Steal {
			where += ` AND (lease_owner = '' OR lease_until <= ?)`
			args = append(args, sqlrow.UnixNano(p.Now))
		}
		if len(p.IDs) > 0 {
			where += ` AND id IN (` + strings.Repeat(", ?", len(p.IDs))[2:] + `)`
			for _, id := range p.IDs {
				args = append(args, id)
			}
		}
		if len(p.Executors) > 0 {
			where += ` AND executor IN (` + strings.Repeat(", ?", len(p.Executors))[2:] + `)`
			for _, x := range p.Executors {
				args = append(args, x)
			}
		}
		limit := p.Limit
		if limit <= 0 {
			limit = -1 // SQLite: no bound
		}
		args = append([]any{p.Owner, sqlrow.UnixNano(p.Until)}, append(args, limit)...)
		rows, err := tx.QueryContext(ctx, `UPDATE runs SET lease_owner = ?, lease_epoch = lease_epoch + 1, lease_until = ?
			WHERE id IN (SELECT id FROM runs WHERE `+where+` ORDER BY created_at, id LIMIT ?)
			RETURNING `+runColumns, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			row, err := scanRun(rows)
			if err != nil {
				return err
			}
			out = append(out, row)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim runs for %q: %w", p.Owner, err)
	}
	store.SortRunsOldestFirst(out) // RETURNING promises no order
	return out, nil
}

// LeaseRenew implements [store.Store.LeaseRenew].
func (s *Store) LeaseRenew(ctx context.Context, p *store.LeaseRenewParams) ([]store.LeaseHeld, error) {
	var out []store.LeaseHeld
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `UPDATE runs SET lease_until = ?
			WHERE lease_owner = ? AND `+unfinished+`
			RETURNING id, lease_epoch, cancel_requested_at`, sqlrow.UnixNano(p.Until), p.Owner)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				h      store.LeaseHeld
				cancel int64
			)
			if err := rows.Scan(&h.RunID, &h.Epoch, &cancel); err != nil {
				return err
			}
			h.CancelRequested = cancel != 0
			out = append(out, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: renew leases of %q: %w", p.Owner, err)
	}
	return out, nil
}

// LeaseRelease implements [store.Store.LeaseRelease]. The epoch stays: the
// next claim raises it.
func (s *Store) LeaseRelease(ctx context.Context, p *store.LeaseReleaseParams) error {
	if len(p.RunIDs) == 0 {
		return nil
	}
	args := []any{p.Owner}
	for _, id := range p.RunIDs {
		args = append(args, id)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET lease_owner = '', lease_until = 0
			WHERE lease_owner = ? AND id IN (`+strings.Repeat(", ?", len(p.RunIDs))[2:]+`)`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: release leases of %q: %w", p.Owner, err)
	}
	return nil
}

// fence refuses a write to a run made under an epoch that is no longer the
// run's: [store.ErrFenced]. Epoch 0 is not fenced.
func fence(ctx context.Context, tx *sql.Tx, runID string, epoch int64) error {
	if epoch == 0 {
		return nil
	}
	var now int64
	err := tx.QueryRowContext(ctx, `SELECT lease_epoch FROM runs WHERE id = ?`, runID).Scan(&now)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return store.CheckEpoch(epoch, now)
}

// admit checks a queued run's way through its pipeline's gate; see
// [store.RunSetStatusParams.Gate]. A run that is not queued passes: it was
// admitted before.
func admit(ctx context.Context, tx *sql.Tx, runID string, g *store.Gate) error {
	var pipeline string
	var status store.RunStatus
	var created int64
	err := tx.QueryRowContext(ctx, `SELECT pipeline, status, created_at FROM runs WHERE id = ?`, runID).Scan(&pipeline, &status, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil || status != store.RunQueued {
		return err
	}
	var running, older int
	err = tx.QueryRowContext(ctx, `SELECT
		coalesce(sum(status = 'running'), 0),
		coalesce(sum(status = 'queued' AND (created_at < ?1 OR (created_at = ?1 AND id < ?2))), 0)
		FROM runs WHERE pipeline = ?3 AND status IN ('queued', 'running')`, created, runID, pipeline).Scan(&running, &older)
	if err != nil {
		return err
	}
	return g.Admit(pipeline, running, older)
}

// roomForAttempt checks the bound on attempts running in the whole store;
// see [store.StepStartParams.MaxRunning].
func roomForAttempt(ctx context.Context, tx *sql.Tx, max int) error {
	if max <= 0 {
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM attempts WHERE status = 'running'`).Scan(&n); err != nil {
		return err
	}
	return store.CheckAttemptRoom(n, max)
}
