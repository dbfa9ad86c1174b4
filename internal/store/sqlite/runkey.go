package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
)

// runKeyFree returns a [*store.RunKeyExistsError] with the run that has
// key, if one has; an empty key is no key. The writer runs one call at a
// time, so nothing can take the key between this check and the insert;
// the unique index stays as the last word.
func runKeyFree(ctx context.Context, tx *sql.Tx, key string) error {
	if key == "" {
		return nil
	}
	row, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE trigger_key = ? AND trigger_key <> ''`, key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("look up run key: %w", err)
	}
	return &store.RunKeyExistsError{Key: key, Run: row}
}

// setRunKey records the key of a run just inserted.
func setRunKey(ctx context.Context, tx *sql.Tx, id, key string) error {
	if key == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET trigger_key = ? WHERE id = ?`, key, id); err != nil {
		return mapErr(err)
	}
	return nil
}
