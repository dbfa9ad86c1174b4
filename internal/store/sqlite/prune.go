package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// RunPrune implements [store.Store.RunPrune], in transactions of at most
// [store.PruneBatch] runs, so that pruning a long history never holds the
// writer for long; then it prunes schedule ticks the same way.
func (s *Store) RunPrune(ctx context.Context, p *store.RunPruneParams) (int, error) {
	before := sqlrow.UnixNano(p.Before)
	total, err := store.PruneInBatches(p, func() (int, error) {
		n := 0
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var err error
			n, err = pruneSome(ctx, tx, before)
			return err
		})
		return n, err
	})
	if err == nil {
		err = s.pruneTicks(ctx, before)
	}
	if err != nil {
		return total, fmt.Errorf("sqlite: %w", err)
	}
	return total, nil
}

// pruneSome deletes up to [store.PruneBatch] runs that ended before
// before, oldest first, and what belongs to them. A run with an attempt
// whose container is not known to be removed is kept: its record is how
// the reaper finds what to remove.
func pruneSome(ctx context.Context, tx *sql.Tx, before int64) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM runs
		WHERE status IN ('succeeded', 'failed', 'canceled') AND finished_at > 0 AND finished_at < ?
		AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = runs.id
			AND a.removed = 0 AND a.handle IS NOT NULL AND length(a.handle) > 0)
		ORDER BY finished_at LIMIT ?`, before, store.PruneBatch)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		// Children first: the foreign keys point up.
		for _, q := range []string{
			`DELETE FROM logs WHERE run_id = ?`,
			`DELETE FROM attempts WHERE run_id = ?`,
			`DELETE FROM steps WHERE run_id = ?`,
			`DELETE FROM runs WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return 0, err
			}
		}
	}
	return len(ids), nil
}
