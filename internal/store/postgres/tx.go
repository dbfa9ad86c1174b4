package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// maxTries bounds how often a call is tried when PostgreSQL aborted it as
// a deadlock or a serialization failure, or its connection turned out
// dead.
const maxTries = 8

var (
	// errClosed is what calls get once [Store.Close] began.
	errClosed = errors.New("store closed")
	// errCommitUnknown: the connection went while COMMIT was on its way, so
	// the change may or may not be stored. It is not
	// [store.ErrUnavailable], which promises nothing changed.
	errCommitUnknown = errors.New("the connection to the database was lost while the change was being committed; it may or may not be stored")
)

// write runs fn in one transaction and commits it if fn returns nil. A
// write once begun runs to its end, bounded by the store's write timeout,
// even if ctx ends: its caller must be able to learn what happened. A
// transaction that was not committed for a reason that may pass at once
// (see retryable) is run again, fn included, so fn must set what it
// returns afresh on each run.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.wait)
	defer cancel()
	for try := 1; ; try++ {
		err := s.tryWrite(wctx, fn)
		if err == nil {
			return nil
		}
		if !retryable(err) || try == maxTries || wctx.Err() != nil {
			return classify(err)
		}
		// Let the transaction that won get ahead; the wait grows a little
		// with each try.
		time.Sleep(time.Duration(try) * 5 * time.Millisecond)
	}
}

func (s *Store) tryWrite(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		var pe *pgconn.PgError
		if (errors.As(err, &pe) && pe.Severity == "ERROR") || errors.Is(err, pgx.ErrTxCommitRollback) || pgconn.SafeToRetry(err) {
			return err // the server rolled back, or COMMIT was never sent
		}
		// The connection went (or the server ended it: FATAL) with
		// COMMIT sent: the server may have committed before.
		return fmt.Errorf("%w: %w", errCommitUnknown, err)
	}
	return nil
}

// read runs fn, a read, again when its connection turned out dead: after
// a database restart each pooled connection fails once, and a read is
// safe to repeat.
func (s *Store) read(ctx context.Context, fn func() error) error {
	for try := 1; ; try++ {
		err := fn()
		if err == nil || try == maxTries || !connectionGone(err) || ctx.Err() != nil {
			return err
		}
	}
}

// retryable reports whether err ended a transaction that was not
// committed and may well be committed when run again at once: PostgreSQL
// aborted it as a deadlock or a serialization failure, or its connection
// was found dead (the pool hands out another).
func retryable(err error) bool {
	if errors.Is(err, errCommitUnknown) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") {
		return true
	}
	return connectionGone(err)
}

// connectionGone reports whether err is the connection lost, or ended by
// the server (shutting down, restarting, or told to by an administrator):
// whatever ran on it was not committed, unless COMMIT was on its way.
func connectionGone(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return lostConnection(err)
}

// classify maps an error of a write that was not committed: a key taken is
// [store.ErrExists], a missing parent row [store.ErrNotFound], and a fault
// that changed nothing and may pass (the database down, a full disk, a
// standby that cannot write, a lock that timed out) [store.ErrUnavailable].
// Answers (sentinels) and a commit of unknown outcome stay as they are.
func classify(err error) error {
	switch {
	case err == nil, errors.Is(err, errCommitUnknown), errors.Is(err, store.ErrUnavailable),
		errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExists):
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return fmt.Errorf("%w: %w", store.ErrExists, err)
		case pe.Code == "23503":
			return fmt.Errorf("%w: %w", store.ErrNotFound, err)
		case pe.Code == "22021" || pe.Code == "22P05":
			return fmt.Errorf("text holds a NUL byte or is not UTF-8, which PostgreSQL cannot store: %w", err)
		case transientCode(pe.Code):
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	if lostConnection(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// transientCode reports whether a server error's SQLSTATE is a fault of
// the moment rather than an answer about the data.
func transientCode(code string) bool {
	switch code[:2] {
	case "08", // connection exception
		"53", // insufficient resources: disk full, out of memory, too many connections
		"58": // system error: I/O
		return true
	}
	switch code {
	case "40001", "40P01", // serialization failure, deadlock, after every try
		"25006",                   // read-only transaction: a standby, or a primary failing over
		"55P03",                   // lock not available (lock_timeout)
		"57014",                   // statement canceled (statement_timeout)
		"57P01", "57P02", "57P03": // the server is shutting down or starting
		return true
	}
	return false
}

// lostConnection reports whether err is the connection failing, not the
// server refusing.
func lostConnection(err error) bool {
	var (
		ne net.Error
		ce *pgconn.ConnectError
	)
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

// findable reports whether every key can name a row: PostgreSQL text holds
// no NUL byte and only UTF-8, so a key that is not such text names none.
// Lookups answer "not found" for it, as they would for any missing key.
func findable(keys ...string) bool {
	for _, k := range keys {
		if !storableText(k) {
			return false
		}
	}
	return true
}

// affected reports whether a command changed any row.
func affected(tag pgconn.CommandTag) bool { return tag.RowsAffected() > 0 }

// queryAll reads every row a query returns, again if its connection
// turned out dead.
func queryAll[T any](ctx context.Context, s *Store, scan func(pgx.Row) (*T, error), sql string, args ...any) ([]*T, error) {
	var out []*T
	err := s.read(ctx, func() error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scan)
		return err
	})
	return out, err
}

// queryOne reads the row a query returns, again if its connection turned
// out dead; none is [pgx.ErrNoRows].
func queryOne[T any](ctx context.Context, s *Store, scan func(pgx.Row) (*T, error), sql string, args ...any) (*T, error) {
	var out *T
	err := s.read(ctx, func() error {
		var err error
		out, err = scan(s.pool.QueryRow(ctx, sql, args...))
		return err
	})
	return out, err
}
