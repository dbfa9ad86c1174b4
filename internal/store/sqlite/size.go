package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// noPageLimit is SQLite's largest max_page_count: no bound.
const noPageLimit = 4294967294

// LimitSize bounds how large the database may grow: a write that needs more
// than bytes fails, changing nothing, with [store.ErrUnavailable], as on a
// full disk. 0 lifts the bound. The bound cannot be below the database's
// size now; asking for less stops it from growing at all.
//
// It is there for operators who want a hard cap beside other data, and for
// tests of how baton behaves when writes fail.
func (s *Store) LimitSize(ctx context.Context, bytes int64) error {
	if bytes < 0 {
		return fmt.Errorf("sqlite: limit size to %d bytes: want 0 (no limit) or more", bytes)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		pages := int64(noPageLimit)
		if bytes > 0 {
			var pageSize int64
			if err := tx.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
				return err
			}
			pages = max(1, bytes/pageSize)
		}
		var got int64
		return tx.QueryRowContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)).Scan(&got)
	})
	if err != nil {
		return fmt.Errorf("sqlite: limit size to %d bytes: %w", bytes, err)
	}
	return nil
}
