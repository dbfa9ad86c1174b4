package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

const approvalColumns = `run_id, step, message, since, deadline, decided_at, approved, decided_by, reason, vals`

func scanApproval(sc pgx.Row) (*store.ApprovalRow, error) {
	var (
		a                        store.ApprovalRow
		since, deadline, decided int64
		vals                     *string
	)
	if err := sc.Scan(&a.RunID, &a.Step, &a.Message, &since, &deadline, &decided, &a.Approved, &a.DecidedBy, &a.Reason, &vals); err != nil {
		return nil, err
	}
	var err error
	if a.Values, err = sqlrow.DecodeMap(vals); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	a.Since, a.Deadline, a.DecidedAt = sqlrow.FromUnixNano(since), sqlrow.FromUnixNano(deadline), sqlrow.FromUnixNano(decided)
	return &a, nil
}

// ApprovalOpen implements [store.Approvals.ApprovalOpen].
func (s *Store) ApprovalOpen(ctx context.Context, p *store.ApprovalOpenParams) (*store.ApprovalRow, error) {
	var out *store.ApprovalRow
	err := store.CheckApprovalOpen(p)
	if err == nil {
		err = s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
			if !findable(p.RunID, p.Step) {
				return store.ErrNotFound
			}
			if err := fence(ctx, tx, p.RunID, p.Epoch, forShare); err != nil {
				return err
			}
			if err := lockStep(ctx, tx, p.RunID, p.Step); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO approvals (run_id, step, message, since, deadline)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, step) DO NOTHING`,
				p.RunID, p.Step, p.Message, sqlrow.UnixNano(p.Since), sqlrow.UnixNano(p.Deadline))
			if err != nil {
				return err
			}
			out, err = scanApproval(tx.QueryRow(ctx, `SELECT `+approvalColumns+` FROM approvals
				WHERE run_id = $1 AND step = $2`, p.RunID, p.Step))
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: open approval of step %q of run %q: %w", p.Step, p.RunID, err)
	}
	return out, nil
}

// ApprovalGet implements [store.Approvals.ApprovalGet].
func (s *Store) ApprovalGet(ctx context.Context, runID, step string) (*store.ApprovalRow, error) {
	var (
		a   *store.ApprovalRow
		err = store.ErrNotFound
	)
	if findable(runID, step) {
		a, err = queryOne(ctx, s, scanApproval, `SELECT `+approvalColumns+` FROM approvals
			WHERE run_id = $1 AND step = $2`, runID, step)
		if errors.Is(err, pgx.ErrNoRows) {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: approval of step %q of run %q: %w", step, runID, err)
	}
	return a, nil
}

// ApprovalList implements [store.Approvals.ApprovalList].
func (s *Store) ApprovalList(ctx context.Context, runID string) ([]*store.ApprovalRow, error) {
	if !findable(runID) {
		return nil, nil
	}
	out, err := queryAll(ctx, s, scanApproval, `SELECT `+approvalColumns+` FROM approvals
		WHERE run_id = $1 ORDER BY step`, runID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list approvals of run %q: %w", runID, err)
	}
	return out, nil
}

// ApprovalDecide implements [store.Approvals.ApprovalDecide]. The step's
// row lock orders a decision with the step's end, so a decision is never
// recorded on a step that ended.
func (s *Store) ApprovalDecide(ctx context.Context, p *store.ApprovalDecideParams) (*store.ApprovalRow, error) {
	var out *store.ApprovalRow
	err := store.CheckApprovalDecide(p)
	var vals *string
	if err == nil && p.Approve {
		vals, err = sqlrow.EncodeMap(p.Values)
	}
	if err == nil {
		err = s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
			if !findable(p.RunID, p.Step) {
				return store.ErrNotFound
			}
			var status store.StepStatus
			err := tx.QueryRow(ctx, `SELECT status FROM steps WHERE run_id = $1 AND name = $2 FOR NO KEY UPDATE`,
				p.RunID, p.Step).Scan(&status)
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			a, err := scanApproval(tx.QueryRow(ctx, `SELECT `+approvalColumns+` FROM approvals
				WHERE run_id = $1 AND step = $2 FOR UPDATE`, p.RunID, p.Step))
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			if err := store.ApprovalClosed(a, status, p.Now); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE approvals SET decided_at = $1, approved = $2, decided_by = $3, reason = $4, vals = $5
				WHERE run_id = $6 AND step = $7 AND decided_at = 0`,
				sqlrow.UnixNano(p.Now), p.Approve, p.By, p.Reason, vals, p.RunID, p.Step)
			if err != nil {
				return err
			}
			a.DecidedAt, a.Approved, a.DecidedBy, a.Reason = sqlrow.FromUnixNano(sqlrow.UnixNano(p.Now)), p.Approve, p.By, p.Reason
			a.Values = nil
			if p.Approve {
				a.Values = sqlrow.CloneMap(p.Values)
			}
			out = a
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: decide approval of step %q of run %q: %w", p.Step, p.RunID, err)
	}
	return out, nil
}
