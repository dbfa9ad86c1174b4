package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"runtime"
)

// OpenReadOnly opens an existing database at path for reading, changing
// nothing: no file is created and no schema is migrated, so it may be used
// beside the baton that has the database open, for instance to read logs.
// Every write through the returned store fails.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	open := func() (*sql.DB, error) {
		return sql.Open("sqlite", dsn(path, "FULL", true)+"&mode=ro")
	}
	w, err := open()
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := open()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	s := &Store{
		w: w, r: r, log: slog.New(slog.DiscardHandler),
		reqs:    make(chan *writeReq),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go s.writeLoop()
	return s, nil
}
