package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/store/identityfile"
	"github.com/baton-dev/baton/internal/store/migrations"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLock is the advisory lock, one per schema, that migrations run
// under: servers that start at once take turns, and the later ones find
// nothing left to do.
const migrateLock = `SELECT pg_advisory_xact_lock(hashtextextended('baton migrate ' || current_schema(), 0))`

// migrate applies every embedded migration the schema lacks, all in one
// transaction under the schema's migration lock, and refuses a schema
// written by a newer baton. In the same transaction it checks the
// identity file against the schema, if one is given, and gives the schema
// an identity if it has none; the file is written after, if missing.
func (s *Store) migrate(ctx context.Context, identityFile string) error {
	ms, err := migrations.List(migrationFS, "migrations")
	if err != nil {
		return err
	}
	var (
		want     identityfile.Identity
		haveFile bool
	)
	if identityFile != "" {
		if want, haveFile, err = readIdentityFile(identityFile); err != nil {
			return err
		}
	}
	var (
		applied []migrations.Migration
		id      identityfile.Identity
	)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, migrateLock); err != nil {
			return fmt.Errorf("migrate: take the migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer NOT NULL PRIMARY KEY,
			applied_at bigint  NOT NULL
		)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		pending, err := migrations.Pending(ms, current)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if haveFile {
			if err := s.checkIdentity(ctx, tx, current == 0, identityFile, want); err != nil {
				return err
			}
		}
		for _, m := range pending {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migrate: apply %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("migrate: record %s: %w", m.Name, err)
			}
			applied = append(applied, m)
		}
		id, err = keepIdentity(ctx, tx, want)
		return err
	})
	if err != nil {
		return err
	}
	s.id = id.ID
	for _, m := range applied {
		s.log.Info("applied database migration", "migration", m.Name, "version", m.Version, "database", s.where)
	}
	if identityFile != "" && !haveFile {
		if err := writeIdentityFile(identityFile, id, s.where); err != nil {
			return fmt.Errorf("write %s: %w", identityFile, err)
		}
	}
	return nil
}

// checkIdentity refuses a schema that is not the one the identity file
// names: an empty one (dropped, or the URL points elsewhere) or another
// store's.
func (s *Store) checkIdentity(ctx context.Context, tx pgx.Tx, fresh bool, file string, want identityfile.Identity) error {
	if fresh {
		return fmt.Errorf("%s holds no baton store but this data dir was used with one (%s); "+
			"point the store at that database again, or move %s away to start afresh", s.where, want.Describe(file, "store"), file)
	}
	var got string
	err := tx.QueryRow(ctx, `SELECT id FROM identity ORDER BY created_at LIMIT 1`).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // made without an identity file; it takes the file's
	}
	if err != nil {
		return fmt.Errorf("read the database's identity: %w", err)
	}
	if got != want.ID {
		return fmt.Errorf("%s holds baton store %s, not the one this data dir was used with (%s); "+
			"point the store at that database again, or move %s away to use this one", s.where, got, want.Describe(file, "store"), file)
	}
	return nil
}

// keepIdentity returns the schema's identity, giving it one if it has
// none: from, when that names one, else a new one.
func keepIdentity(ctx context.Context, tx pgx.Tx, from identityfile.Identity) (identityfile.Identity, error) {
	var (
		id      identityfile.Identity
		created int64
	)
	err := tx.QueryRow(ctx, `SELECT id, created_at FROM identity ORDER BY created_at LIMIT 1`).Scan(&id.ID, &created)
	if err == nil {
		id.Created = sqlrow.FromUnixNano(created)
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return identityfile.Identity{}, fmt.Errorf("read the database's identity: %w", err)
	}
	id = from.OrNew()
	if _, err := tx.Exec(ctx, `INSERT INTO identity (id, created_at) VALUES ($1, $2)`, id.ID, sqlrow.UnixNano(id.Created)); err != nil {
		return identityfile.Identity{}, fmt.Errorf("record the database's identity: %w", err)
	}
	return id, nil
}
