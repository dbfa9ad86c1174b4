package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/store/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrate applies every embedded migration the database lacks, all in one
// transaction, and refuses a database written by a newer baton.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations.List(migrationFS, "migrations")
	if err != nil {
		return err
	}
	var applied []migrations.Migration
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		applied = nil
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL
		)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx,
			`SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		pending, err := migrations.Pending(ms, current)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, m := range pending {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migrate: apply %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.Version, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("migrate: record %s: %w", m.Name, err)
			}
			applied = append(applied, m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range applied {
		s.log.Info("applied database migration", "migration", m.Name, "version", m.Version)
	}
	return nil
}
