package sqlite

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// IdentityFileName is the name baton gives the identity file (see
// [Options.IdentityFile]), beside the database in the data dir.
const IdentityFileName = "baton.db.id"

// identity names one database: made when the database is created, kept in
// it and in a file beside it, so that a database which went missing or was
// emptied while the file stayed is noticed instead of started afresh.
type identity struct {
	id      string
	created time.Time
}

// maxIdentityFile bounds what is read of an identity file.
const maxIdentityFile = 4 << 10

// readIdentityFile returns the identity the file names; ok is false when
// there is no such file.
func readIdentityFile(path string) (id identity, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return identity{}, false, nil
	}
	if err != nil {
		return identity{}, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxIdentityFile))
	for sc.Scan() {
		key, value, _ := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		switch key {
		case "id":
			id.id = value
		case "created":
			id.created, _ = time.Parse(time.RFC3339, value)
		}
	}
	if err := sc.Err(); err != nil {
		return identity{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	if id.id == "" {
		return identity{}, false, fmt.Errorf("%s names no database (no id= line); restore it, or remove it if this data dir's database is the one you mean to use", path)
	}
	return id, true, nil
}

// writeIdentityFile writes the file whole or not at all.
func writeIdentityFile(path string, id identity) error {
	text := "# The database this data dir holds. While this file is here, baton refuses\n" +
		"# to start on an empty database: it would forget every run it accepted.\n" +
		"id=" + id.id + "\ncreated=" + id.created.UTC().Format(time.RFC3339) + "\n"
	tmp, err := os.CreateTemp(filepath.Dir(path), ".identity-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.WriteString(text)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// describe says where an identity came from, for a refusal.
func (id identity) describe(file string) string {
	s := fmt.Sprintf("%s names database %s", file, id.id)
	if !id.created.IsZero() {
		s += ", created " + id.created.UTC().Format(time.RFC3339)
	}
	return s
}

// usedBefore is the refusal to open an empty database in a data dir that
// held one.
func usedBefore(dbPath, file string, id identity) error {
	return fmt.Errorf("the database in %s is empty but this data dir was used before (%s); "+
		"restore %s and %s-wal, or move the data dir away to start afresh",
		filepath.Dir(dbPath), id.describe(file), filepath.Base(dbPath), filepath.Base(dbPath))
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
	case got != "" && got != want.id:
		return fmt.Errorf("the database in %s is not the one this data dir was used with (it is database %s; %s); "+
			"restore the right %s and %s-wal, or move the data dir away to start afresh",
			filepath.Dir(dbPath), got, want.describe(file), filepath.Base(dbPath), filepath.Base(dbPath))
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
	var id identity
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM identity ORDER BY created_at LIMIT 1`).Scan(&id.id, &created)
		if err == nil {
			id.created = fromUnixNano(created)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id = fromFile
		if !haveFile {
			var b [16]byte
			_, _ = rand.Read(b[:])
			id = identity{id: hex.EncodeToString(b[:]), created: time.Now().UTC().Truncate(time.Second)}
		}
		if id.created.IsZero() {
			id.created = time.Now().UTC().Truncate(time.Second)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO identity (id, created_at) VALUES (?, ?)`, id.id, unixNano(id.created))
		return err
	})
	if err != nil {
		return fmt.Errorf("record the database's identity: %w", err)
	}
	if haveFile {
		return nil
	}
	if err := writeIdentityFile(file, id); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
