//go:build !postgres

package cli

import (
	"context"
	"errors"
	"log/slog"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/store"
)

// postgresBuiltIn says whether this binary has the PostgreSQL store. Its
// driver (pgx, with the Unicode tables its password handling needs) adds
// about 6 MB, so it is built in only with -tags postgres.
const postgresBuiltIn = false

func openPostgres(context.Context, *config.Config, *slog.Logger) (store.Store, error) {
	return nil, errors.New(errNoPostgres)
}
