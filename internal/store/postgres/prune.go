package postgres

import (
	"context"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/jackc/pgx/v5"
)

// pruneBatch is how many runs one transaction of [Store.RunPrune] deletes,
// so that pruning a long history never holds locks for long.
const pruneBatch = 50

// RunPrune implements [store.Store.RunPrune], in transactions of at most
// pruneBatch runs: a prune cut short leaves whole runs, never parts of one.
func (s *Store) RunPrune(ctx context.Context, p *store.RunPruneParams) (int, error) {
	before := unixNano(p.Before)
	total := 0
	for {
		n := 0
		err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
			var err error
			n, err = pruneSome(ctx, tx, before)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("postgres: prune runs finished before %s: %w", p.Before.UTC().Format("2006-01-02T15:04:05Z07:00"), err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// pruneSome deletes up to pruneBatch runs that ended before before, oldest
// first, and, by cascade, what belongs to them. A run with an attempt whose
// container is not known to be removed is kept: its record is how the
// reaper finds what to remove. Runs another prune is deleting are skipped,
// not waited for.
func pruneSome(ctx context.Context, tx pgx.Tx, before int64) (int, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM runs WHERE id IN (
		SELECT id FROM runs
		WHERE status IN ('succeeded', 'failed', 'canceled') AND finished_at > 0 AND finished_at < $1
		AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = runs.id
			AND NOT a.removed AND a.handle IS NOT NULL AND length(a.handle) > 0)
		ORDER BY finished_at LIMIT $2
		FOR UPDATE SKIP LOCKED)`, before, pruneBatch)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
