package postgres

import (
	"context"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// RunPrune implements [store.Store.RunPrune], in transactions of at most
// [store.PruneBatch] runs, so that pruning a long history never holds
// locks for long; then it prunes schedule ticks the same way.
func (s *Store) RunPrune(ctx context.Context, p *store.RunPruneParams) (int, error) {
	before := sqlrow.UnixNano(p.Before)
	total, err := store.PruneInBatches(p, func() (int, error) {
		n := 0
		err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
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
		return total, fmt.Errorf("postgres: %w", err)
	}
	return total, nil
}

// pruneSome deletes up to [store.PruneBatch] runs that ended before
// before, oldest first, and, by cascade, what belongs to them. A run with
// an attempt whose container is not known to be removed is kept: its
// record is how the reaper finds what to remove. Runs another prune is
// deleting are skipped, not waited for.
func pruneSome(ctx context.Context, tx pgx.Tx, before int64) (int, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM runs WHERE id IN (
		SELECT id FROM runs
		WHERE status IN ('succeeded', 'failed', 'canceled') AND finished_at > 0 AND finished_at < $1
		AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = runs.id
			AND NOT a.removed AND a.handle IS NOT NULL AND length(a.handle) > 0)
		ORDER BY finished_at LIMIT $2
		FOR UPDATE SKIP LOCKED)`, before, store.PruneBatch)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
