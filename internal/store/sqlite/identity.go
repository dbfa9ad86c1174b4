package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/baton-dev/baton/internal/store/identityfile"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// IdentityFileName is the name baton gives the identity file (see
// [Options.IdentityFile]), beside the database in the data dir.
const IdentityFileName = "baton.db.id"

// readIdentityFile returns the identity the file names (see
// [identityfile]); ok is false when there is no such file.
func readIdentityFile(path string) (id identityfile.Identity, ok bool, err error) {
	id, ok, err = identityfile.Read(path)
	if errors.Is(err, identityfile.ErrNoID) {
		return id, false, fmt.Errorf("%s names no database (no id= line); restore it, or remove it if this data dir's database is the one you mean to use", path)
	}
	return id, ok, err
}

// identityComment heads the identity file, for whoever reads it.
const identityComment = "# The database this data dir holds. While this file is here, baton refuses\n" +
	"# to start on an empty database: it would forget every run it accepted.\n"

// usedBefore is the refusal to open an empty database in a data dir that
// held one.
func usedBefore(dbPath, file string, id identityfile.Identity) error {
	return fmt.Errorf("the database in %s is empty but this data dir was used before (%s); "+
		"restore %s and %s-wal, or move the data dir away to start afresh",
		filepath.Dir(dbPath), id.Describe(file, "database"), filepath.Base(dbPath), filepath.Base(dbPath))
}

// dbIdentity reads the database's identity before any migration: fresh is
// true when the database holds nothing yet; id is empty when it predates
// identities.
func (s *Store) dbIdentity(ctx context.Context) (id string, fresh bool, err error) {
	var tables int
	err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master
		WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables)
	if err != nil {
		return "", false, err
	}
	if tables == 0 {
		return "", true, nil
	}
	var applied int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return "", false, err
	}
	if applied == 0 {
		return "", true, nil
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master
		WHERE type = 'table' AND name = 'identity'`).Scan(&tables); err != nil {
		return "", false, err
	}
	if tables > 0 {
		err = s.r.QueryRowContext(ctx, `SELECT id FROM identity ORDER BY created_at LIMIT 1`).Scan(&id)
		if !errors.Is(err, sql.ErrNoRows) {
			return id, false, err
		}
	}
	// No identity: a database made before identities, or an empty one
	// that something opened without checking; only the first has data.
	var used bool
	err = s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM runs) OR EXISTS (SELECT 1 FROM pipelines)`).Scan(&used)
	return "", !used, err
}

// checkIdentity refuses a database that is not the one the identity file
// names: an empty one (lost or deleted) or another one. It writes nothing.
func (s *Store) checkIdentity(ctx context.Context, dbPath, file string) error {
	want, ok, err := readIdentityFile(file)
	if err != nil || !ok {
		return err
	}
	got, fresh, err := s.dbIdentity(ctx)
	if err != nil {
		return fmt.Errorf("read the database's identity: %w", err)
	}
	switch {
	case fresh:
		return usedBefore(dbPath, file, want)
	case got != "" && got != want.ID:
		return fmt.Errorf("the database in %s is not the one this data dir was used with (it is database %s; %s); "+
			"restore the right %s and %s-wal, or move the data dir away to start afresh",
			filepath.Dir(dbPath), got, want.Describe(file, "database"), filepath.Base(dbPath), filepath.Base(dbPath))
	}
	return nil
}

// keepIdentity gives the database an identity if it has none (the one the
// file names, else a new one), then writes the file if it is missing: the
// database first, so that a crash in between never leaves a file naming a
// database that does not exist.
func (s *Store) keepIdentity(ctx context.Context, file string) error {
	fromFile, haveFile, err := readIdentityFile(file)
	if err != nil {
		return err
	}
	var id identityfile.Identity
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM identity ORDER BY created_at LIMIT 1`).Scan(&id.ID, &created)
		if err == nil {
			id.Created = sqlrow.FromUnixNano(created)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id = fromFile.OrNew()
		_, err = tx.ExecContext(ctx, `INSERT INTO identity (id, created_at) VALUES (?, ?)`, id.ID, sqlrow.UnixNano(id.Created))
		return err
	})
	if err != nil {
		return fmt.Errorf("record the database's identity: %w", err)
	}
	if haveFile {
		return nil
	}
	if err := identityfile.Write(file, id, identityComment); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
