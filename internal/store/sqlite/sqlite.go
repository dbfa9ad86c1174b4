// Package sqlite implements [store.Store] on one SQLite file, through the pure
// Go driver modernc.org/sqlite so that baton builds without cgo.
//
// Writes go through a single connection, so writers queue in Go instead of
// spinning on SQLITE_BUSY, and calls that queue up while a commit is on disk
// share the next commit (group commit), so concurrent steps cost one fsync
// between them. Reads use a separate pool that WAL mode lets run beside the
// writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/baton-dev/baton/internal/store"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ store.Store = (*Store)(nil)

// Options configure [Open]. The zero value is ready to use.
type Options struct {
	// Logger receives migration notices; nil discards them.
	Logger *slog.Logger
	// Synchronous is SQLite's synchronous pragma: OFF, NORMAL, FULL or EXTRA.
	// Empty means FULL, so an acknowledged change survives a power loss;
	// NORMAL in WAL mode can lose the last commits on power loss but never
	// corrupts the file.
	Synchronous string
	// IdentityFile, if set, is a file that names the database, written
	// when the database is first created. While it exists, Open refuses a
	// database that is empty (deleted, or its WAL lost) or another one,
	// and changes nothing: starting afresh would forget every accepted run.
	IdentityFile string
}

// Store is a [store.Store] on one SQLite file. It is safe for concurrent use.
type Store struct {
	w   *sql.DB // one connection, used by writeLoop alone
	r   *sql.DB // a pool of read-only connections
	log *slog.Logger

	reqs      chan *writeReq // unbuffered: a call sent is a call taken
	quit      chan struct{}  // closed by Close
	stopped   chan struct{}  // closed when writeLoop returns
	closeOnce sync.Once
	closeErr  error
}

// Open opens the database at path, creating it (mode 0600) and its directory
// if missing, and brings its schema up to date.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: give the path of a database file", path)
	}
	syncMode := strings.ToUpper(opts.Synchronous)
	switch syncMode {
	case "":
		syncMode = "FULL"
	case "OFF", "NORMAL", "FULL", "EXTRA":
	default:
		return nil, fmt.Errorf("sqlite: synchronous %q: want OFF, NORMAL, FULL or EXTRA", opts.Synchronous)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.IdentityFile != "" {
		// A database file that is gone is refused before one is created.
		id, used, err := readIdentityFile(opts.IdentityFile)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); used && errors.Is(err, os.ErrNotExist) {
			return nil, usedBefore(path, opts.IdentityFile, id)
		}
	}
	if err := createFile(path); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}

	w, err := sql.Open("sqlite", dsn(path, syncMode, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	r, err := sql.Open("sqlite", dsn(path, syncMode, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)

	s := &Store{
		w: w, r: r, log: log,
		reqs:    make(chan *writeReq),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go s.writeLoop()
	if opts.IdentityFile != "" {
		if err := s.checkIdentity(ctx, path, opts.IdentityFile); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if opts.IdentityFile != "" {
		if err := s.keepIdentity(ctx, opts.IdentityFile); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
		}
	}
	return s, nil
}

// Close waits for the write in progress, then closes the database. Calls
// after Close fail.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.stopped
		s.closeErr = errors.Join(s.w.Close(), s.r.Close())
	})
	return s.closeErr
}

// createFile creates the database file and its directory up front, so that
// the file gets mode 0600 (SQLite gives its -wal and -shm files the same).
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

func dsn(path, sync string, readOnly bool) string {
	q := []string{
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(" + sync + ")",
		"_pragma=foreign_keys(ON)",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(ON)")
	} else {
		q = append(q, "_txlock=immediate")
	}
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() + "?" + strings.Join(q, "&")
}

// mapErr maps SQLite constraint errors to the store's sentinels: a duplicate
// key is [store.ErrExists], a missing parent row is [store.ErrNotFound].
func mapErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %w", store.ErrExists, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return err
}

// transient marks errors of a write that changed nothing and may succeed
// later (a full disk, an I/O error, a lock held elsewhere) as
// [store.ErrUnavailable], so callers know to try again.
func transient(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
		sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// lost marks the error of a write transaction that could not be committed
// as [store.ErrUnavailable]: none of its calls changed anything.
func lost(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// affected reports whether res changed any row.
func affected(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n > 0, nil
}
