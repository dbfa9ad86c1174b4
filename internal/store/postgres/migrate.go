package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations by version. A file is named
// NNNN_what.sql; its number is its version.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and _", base)
		}
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q: same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

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
	ms, err := migrations()
	if err != nil {
		return err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	var (
		want     identity
		haveFile bool
	)
	if identityFile != "" {
		if want, haveFile, err = readIdentityFile(identityFile); err != nil {
			return err
		}
	}
	var (
		applied []migration
		id      identity
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
		if current > latest {
			return fmt.Errorf("migrate: database schema is version %d, this baton knows up to %d: upgrade baton or use another database", current, latest)
		}
		if haveFile {
			if err := s.checkIdentity(ctx, tx, current == 0, identityFile, want); err != nil {
				return err
			}
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migrate: apply %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.version, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("migrate: record %s: %w", m.name, err)
			}
			applied = append(applied, m)
		}
		id, err = keepIdentity(ctx, tx, want)
		return err
	})
	if err != nil {
		return err
	}
	s.id = id.id
	for _, m := range applied {
		s.log.Info("applied database migration", "migration", m.name, "version", m.version, "database", s.where)
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
func (s *Store) checkIdentity(ctx context.Context, tx pgx.Tx, fresh bool, file string, want identity) error {
	if fresh {
		return fmt.Errorf("%s holds no baton store but this data dir was used with one (%s); "+
			"point the store at that database again, or move %s away to start afresh", s.where, want.describe(file), file)
	}
	var got string
	err := tx.QueryRow(ctx, `SELECT id FROM identity ORDER BY created_at LIMIT 1`).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // made without an identity file; it takes the file's
	}
	if err != nil {
		return fmt.Errorf("read the database's identity: %w", err)
	}
	if got != want.id {
		return fmt.Errorf("%s holds baton store %s, not the one this data dir was used with (%s); "+
			"point the store at that database again, or move %s away to use this one", s.where, got, want.describe(file), file)
	}
	return nil
}

// keepIdentity returns the schema's identity, giving it one if it has
// none: from, when that names one, else a new one.
func keepIdentity(ctx context.Context, tx pgx.Tx, from identity) (identity, error) {
	var (
		id      identity
		created int64
	)
	err := tx.QueryRow(ctx, `SELECT id, created_at FROM identity ORDER BY created_at LIMIT 1`).Scan(&id.id, &created)
	if err == nil {
		id.created = fromUnixNano(created)
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return identity{}, fmt.Errorf("read the database's identity: %w", err)
	}
	id = from
	if id.id == "" {
		id = newIdentity()
	}
	if id.created.IsZero() {
		id.created = time.Now().UTC().Truncate(time.Second)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO identity (id, created_at) VALUES ($1, $2)`, id.id, unixNano(id.created)); err != nil {
		return identity{}, fmt.Errorf("record the database's identity: %w", err)
	}
	return id, nil
}
