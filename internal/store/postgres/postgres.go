// Package postgres implements [store.Store] on PostgreSQL, through
// github.com/jackc/pgx/v5 and its connection pool, for control planes whose
// state must outlive any one machine.
//
// Each write is one READ COMMITTED transaction. Where a change depends on
// what it read, what it depends on is locked first, always in the order
// advisory locks (a pipeline's name, the store's running attempts), runs,
// steps, attempts, so that concurrent writers queue instead of
// deadlocking; a transaction PostgreSQL aborts as a deadlock or a
// serialization failure anyway, or one whose connection died, is tried
// again whole. A write's outcome is
// what the SQLite store gives for the same calls: the conformance suite in
// storetest holds both to it.
//
// Several servers may open one store at once: runs are divided among them
// by the leases of [Store.RunClaim], and [Store.Signal] and [Store.Listen]
// carry signals between them through LISTEN/NOTIFY.
//
// The store lives in the first schema of the connection's search_path
// (public unless the URL says search_path=...), so that several baton
// deployments can share one database, a schema each. Migrations are
// embedded and applied under an advisory lock of that schema, so servers
// starting at once apply each migration once.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ store.Store = (*Store)(nil)

// IdentityFileName is the name baton gives the identity file of a
// PostgreSQL store (see [Options.IdentityFile]) in the data dir. It is not
// the SQLite store's, so a data dir can move from one store to the other.
const IdentityFileName = "baton.postgres.id"

// DefaultWriteTimeout bounds one write transaction, tries included, when
// [Options.WriteTimeout] is 0.
const DefaultWriteTimeout = time.Minute

// Options configure [Open]. The zero value is ready to use.
type Options struct {
	// Logger receives migration and signal notices; nil discards them.
	Logger *slog.Logger
	// IdentityFile, if set, is a file that names the database, written
	// when the store is first created in it. While it exists, Open refuses
	// a schema that is empty (dropped, or another database) or that holds
	// another store, and changes nothing: starting afresh would forget
	// every accepted run.
	IdentityFile string
	// WriteTimeout bounds a write once begun: a write runs to its end even
	// when its caller's context ends, so that an answer is never lost to a
	// cancel; 0 means [DefaultWriteTimeout].
	WriteTimeout time.Duration
}

// Store is a [store.Store] on one PostgreSQL schema. It is safe for
// concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	where  string // the database and schema, without credentials, for errors
	schema string
	wait   time.Duration
	id     string // the store's identity, once open

	closed    atomic.Bool
	stop      chan struct{} // closed by Close, ending Listen
	closeOnce sync.Once
}

// Open connects to the database at rawURL (postgres://user@host:port/db?…,
// every parameter pgx knows allowed, pool_max_conns among them), brings the
// schema up to date, and checks the identity file if one is given.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	where := Describe(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil || !IsURL(rawURL) {
		return nil, fmt.Errorf("postgres: open %s: not a postgres:// URL that pgx can read; write e.g. postgres://baton@db.example:5432/baton", where)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "baton"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wait := opts.WriteTimeout
	if wait <= 0 {
		wait = DefaultWriteTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", where, err)
	}
	s := &Store{pool: pool, log: log, where: where, wait: wait, stop: make(chan struct{})}
	if err := s.open(ctx, opts); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", s.where, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, opts Options) error {
	var schema *string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		return errors.New("the search_path names no schema that exists; create the schema, or drop search_path from the URL to use public")
	}
	s.schema = *schema
	if s.schema != "public" {
		s.where += " schema " + s.schema
	}
	return s.migrate(ctx, opts.IdentityFile)
}

// Identity names the store: the same for every server that opens it, and
// another for every other store, however its database is named.
func (s *Store) Identity() string { return s.id }

// Close waits for the writes in progress, then closes the connections.
// Calls after Close fail.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		s.pool.Close()
	})
	return nil
}

// IsURL reports whether value names a PostgreSQL store: a postgres:// or
// postgresql:// URL.
func IsURL(value string) bool {
	u, err := url.Parse(value)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql")
}

// Describe names the database a URL points at for errors and logs:
// postgres://user@host:port/db, without its password or parameters, which
// may carry secrets too.
func Describe(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return "the PostgreSQL URL"
	}
	d := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		d.User = url.User(u.User.Username())
	}
	return strings.TrimSuffix(d.String(), "/")
}
