package postgres

import (
	"context"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// AuditAppend implements [store.Store.AuditAppend]. Once the entry is
// stored, e.Seq is its sequence number.
func (s *Store) AuditAppend(ctx context.Context, e *store.AuditEntry) error {
	var seq int64
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO audit (ts, actor, action, target, detail)
			VALUES ($1, $2, $3, $4, $5) RETURNING seq`,
			sqlrow.UnixNano(e.Time), e.Actor, e.Action, e.Target, textBytes(e.Detail)).Scan(&seq)
	})
	if err != nil {
		return fmt.Errorf("postgres: append audit entry %q on %q: %w", e.Action, e.Target, err)
	}
	e.Seq = seq
	return nil
}

// AuditList implements [store.Store.AuditList]. Newest is the highest
// sequence number, the order entries were stored in, whatever their times.
func (s *Store) AuditList(ctx context.Context, p *store.AuditListParams) ([]*store.AuditEntry, error) {
	out, err := queryAll(ctx, s, func(sc pgx.Row) (*store.AuditEntry, error) {
		var (
			e      store.AuditEntry
			ts     int64
			detail []byte
		)
		if err := sc.Scan(&e.Seq, &ts, &e.Actor, &e.Action, &e.Target, &detail); err != nil {
			return nil, err
		}
		e.Time = sqlrow.FromUnixNano(ts)
		e.Detail = string(detail)
		return &e, nil
	}, `SELECT seq, ts, actor, action, target, detail FROM audit
		ORDER BY seq DESC LIMIT $1`, p.Max())
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit entries: %w", err)
	}
	return out, nil
}
