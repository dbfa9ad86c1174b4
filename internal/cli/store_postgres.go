//go:build postgres

package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres"
)

// postgresBuiltIn says whether this binary has the PostgreSQL store. Its
// driver (pgx, with the Unicode tables its password handling needs) adds
// about 6 MB, so it is built in only with -tags postgres.
const postgresBuiltIn = true

func openPostgres(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	opts := postgres.Options{Logger: log}
	if cfg.DataDir != "" {
		// A command run from anywhere (prune --store) has no data dir.
		opts.IdentityFile = filepath.Join(cfg.DataDir, postgres.IdentityFileName)
	}
	st, err := postgres.Open(ctx, cfg.Store, opts)
	if err != nil {
		return nil, fmt.Errorf("open the store: %w", err)
	}
	log.Info("opened the store", "store", postgres.Describe(cfg.Store))
	return st, nil
}
