package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

const approvalColumns = `run_id, step, message, since, deadline, decided_at, approved, decided_by, reason, vals`

func scanApproval(sc scanner) (*store.ApprovalRow, error) {
	var (
		a                        store.ApprovalRow
		since, deadline, decided int64
		approved                 int
		vals                     *string
	)
	if err := sc.Scan(&a.RunID, &a.Step, &a.Message, &since, &deadline, &decided, &approved, &a.DecidedBy, &a.Reason, &vals); err != nil {
		return nil, err
	}
	var err error
	if a.Values, err = sqlrow.DecodeMap(vals); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	a.Since, a.Deadline, a.DecidedAt = sqlrow.FromUnixNano(since), sqlrow.FromUnixNano(deadline), sqlrow.FromUnixNano(decided)
	a.Approved = approved != 0
	return &a, nil
}

// ApprovalOpen implements [store.Approvals.ApprovalOpen].
func (s *Store) ApprovalOpen(ctx context.Context, p *store.ApprovalOpenParams) (*store.ApprovalRow, error) {
	var out *store.ApprovalRow
	err := store.CheckApprovalOpen(p)
	if err == nil {
		err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := fence(ctx, tx, p.RunID, p.Epoch); err != nil {
				return err
			}
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM steps WHERE run_id = ? AND name = ?`, p.RunID, p.Step).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO approvals (run_id, step, message, since, deadline)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, step) DO NOTHING`,
				p.RunID, p.Step, p.Message, sqlrow.UnixNano(p.Since), sqlrow.UnixNano(p.Deadline))
			if err != nil {
				return err
			}
			out, err = scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals
				WHERE run_id = ? AND step = ?`, p.RunID, p.Step))
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: open approval of step %q of run %q: %w", p.Step, p.RunID, err)
	}
	return out, nil
}

// ApprovalGet implements [store.Approvals.ApprovalGet].
func (s *Store) ApprovalGet(ctx context.Context, runID, step string) (*store.ApprovalRow, error) {
	a, err := scanApproval(s.r.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals
		WHERE run_id = ? AND step = ?`, runID, step))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: approval of step %q of run %q: %w", step, runID, err)
	}
	return a, nil
}

// ApprovalList implements [store.Approvals.ApprovalList].
func (s *Store) ApprovalList(ctx context.Context, runID string) ([]*store.ApprovalRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+approvalColumns+` FROM approvals
		WHERE run_id = ? ORDER BY step`, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list approvals of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []*store.ApprovalRow
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list approvals of run %q: %w", runID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list approvals of run %q: %w", runID, err)
	}
	return out, nil
}

// ApprovalDecide implements [store.Approvals.ApprovalDecide].
func (s *Store) ApprovalDecide(ctx context.Context, p *store.ApprovalDecideParams) (*store.ApprovalRow, error) {
	var out *store.ApprovalRow
	err := store.CheckApprovalDecide(p)
	var vals *string
	if err == nil && p.Approve {
		vals, err = sqlrow.EncodeMap(p.Values)
	}
	if err == nil {
		err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			a, err := scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals
				WHERE run_id = ? AND step = ?`, p.RunID, p.Step))
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			var status store.StepStatus
			if err := tx.QueryRowContext(ctx, `SELECT status FROM steps WHERE run_id = ? AND name = ?`,
				p.RunID, p.Step).Scan(&status); err != nil {
				return err
			}
			if err := store.ApprovalClosed(a, status, p.Now); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE approvals SET decided_at = ?, approved = ?, decided_by = ?, reason = ?, vals = ?
				WHERE run_id = ? AND step = ? AND decided_at = 0`,
				sqlrow.UnixNano(p.Now), boolInt(p.Approve), p.By, p.Reason, vals, p.RunID, p.Step)
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
		return nil, fmt.Errorf("sqlite: decide approval of step %q of run %q: %w", p.Step, p.RunID, err)
	}
	return out, nil
}
