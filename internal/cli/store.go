package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// openStore opens the store the configuration names: the SQLite database
// in the data dir, or a PostgreSQL database that other servers may share
// (it is a [store.Signaler], carrying word between them). Either way the
// data dir keeps a file naming the store, so that a store that went
// missing is noticed instead of started afresh.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	if sqliteStore(cfg) {
		st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "baton.db"), sqlite.Options{Logger: log,
			IdentityFile: filepath.Join(cfg.DataDir, sqlite.IdentityFileName)})
		if err != nil {
			return nil, fmt.Errorf("open store in %s: %w", cfg.DataDir, err)
		}
		return st, nil
	}
	return openPostgres(ctx, cfg, log)
}

// openSharedStore opens the PostgreSQL store at url for a command run
// beside the servers that share it (prune, tokens create --local), quietly.
func openSharedStore(ctx context.Context, url string) (store.Store, error) {
	cfg := &config.Config{Store: url}
	if err := checkStore(cfg); err != nil {
		return nil, usageError{msg: err.Error()}
	}
	return openStore(ctx, cfg, newLogger(io.Discard, slog.LevelInfo))
}

func sqliteStore(cfg *config.Config) bool {
	return cfg.Store == "" || cfg.Store == config.StoreSQLite
}

// checkStore refuses, before anything is opened, a store this baton was
// built without.
func checkStore(cfg *config.Config) error {
	if sqliteStore(cfg) || postgresBuiltIn {
		return nil
	}
	return &config.Error{Where: cfg.Origin("store"), Key: "store", Msg: errNoPostgres}
}

// errNoPostgres is the refusal of a postgres:// store by a baton built
// without it.
const errNoPostgres = "this baton was built without the PostgreSQL store, which would take the binary past its size budget; " +
	"build one that has it with: go build -tags postgres ./cmd/baton"
