package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// AuditAppend implements [store.Store.AuditAppend]. Once the entry is
// stored, e.Seq is its sequence number.
func (s *Store) AuditAppend(ctx context.Context, e *store.AuditEntry) error {
	var seq int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit (ts, actor, action, target, detail)
			VALUES (?, ?, ?, ?, ?) RETURNING seq`,
			sqlrow.UnixNano(e.Time), e.Actor, e.Action, e.Target, e.Detail).Scan(&seq)
	})
	if err != nil {
		return fmt.Errorf("sqlite: append audit entry %q on %q: %w", e.Action, e.Target, err)
	}
	e.Seq = seq
	return nil
}

// AuditList implements [store.Store.AuditList]. Newest is the highest
// sequence number, the order entries were stored in, whatever their times.
func (s *Store) AuditList(ctx context.Context, p *store.AuditListParams) ([]*store.AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, ts, actor, action, target, detail FROM audit
		ORDER BY seq DESC LIMIT ?`, p.Max())
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit entries: %w", err)
	}
	defer rows.Close()
	var out []*store.AuditEntry
	for rows.Next() {
		var (
			e  store.AuditEntry
			ts int64
		)
		if err := rows.Scan(&e.Seq, &ts, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: list audit entries: %w", err)
		}
		e.Time = sqlrow.FromUnixNano(ts)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list audit entries: %w", err)
	}
	return out, nil
}
