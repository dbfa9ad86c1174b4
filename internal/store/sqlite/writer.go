package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// maxBatch bounds how many calls share one commit.
const maxBatch = 256

// errClosed is what calls get once [Store.Close] began.
var errClosed = errors.New("store closed")

// writeReq is one call's share of a write transaction.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	err  error
	done chan error
}

// write runs fn atomically and durably: committed if fn returns nil, rolled
// back if not. Calls that arrive while a commit is on disk share the next
// transaction (group commit), each inside its own savepoint, so one fsync
// covers them all; each call still returns only once its change is durable.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return errClosed
	}
	// Once taken, the change may commit, so wait for the outcome even if
	// ctx ends.
	return <-req.done
}

// writeLoop is the one goroutine that writes. It takes a call, then every
// call already waiting, runs them in one transaction and commits.
func (s *Store) writeLoop() {
	defer close(s.stopped)
	for {
		var first *writeReq
		select {
		case first = <-s.reqs:
		case <-s.quit:
			return
		}
		batch := []*writeReq{first}
		tx, err := s.w.BeginTx(context.Background(), nil)
		if err == nil {
			err = s.apply(tx, first)
		drain:
			for err == nil && len(batch) < maxBatch {
				select {
				case req := <-s.reqs:
					batch = append(batch, req)
					err = s.apply(tx, req)
				default:
					break drain
				}
			}
			if err == nil {
				err = tx.Commit()
			} else {
				_ = tx.Rollback()
			}
		}
		for _, req := range batch {
			if err != nil {
				// The transaction is lost, and with it every call's change:
				// nothing was written, and the same call may succeed later.
				req.done <- lost(mapErr(err))
			} else {
				req.done <- transient(req.err)
			}
		}
	}
}

// apply runs one call inside a savepoint, leaving its error in req.err; a
// call whose ctx ended is not run. The error apply returns is one that
// breaks the whole transaction.
func (s *Store) apply(tx *sql.Tx, req *writeReq) error {
	if err := req.ctx.Err(); err != nil {
		req.err = err
		return nil
	}
	if _, err := tx.Exec("SAVEPOINT call"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	// Interrupting a statement would roll back the whole batch, so a call
	// once begun runs to its end; it is short.
	req.err = req.fn(context.WithoutCancel(req.ctx), tx)
	if req.err != nil {
		if _, err := tx.Exec("ROLLBACK TO call"); err != nil {
			return fmt.Errorf("rollback to savepoint: %w", err)
		}
	}
	if _, err := tx.Exec("RELEASE call"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}
