package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/store"
)

func runPrune(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "prune", "prune --older-than DURATION [--data-dir DIR | --store URL]")
	olderThan := fs.String("older-than", "", "delete the runs that ended longer ago than this `duration` (e.g. 720h or 30d), with their steps and logs (required)")
	dataDir := fs.String("data-dir", defaultDataDir(env), "the data `dir` to prune (no server may be using it; a server prunes itself with --retention)")
	storeURL := fs.String("store", "", "prune a postgres://user@host:port/db `URL` that servers share instead, while they run")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if !sqliteStore(&config.Config{Store: *storeURL}) {
		return prunePostgres(ctx, env, *storeURL, *olderThan)
	}
	if *olderThan == "" {
		return usagef("give --older-than, e.g. --older-than 30d")
	}
	age, err := parseAge(*olderThan)
	if err != nil {
		return usagef("--older-than: %v", err)
	}
	o, err := openOffline(ctx, *dataDir, "a running server prunes its data dir itself when started with --retention "+*olderThan)
	if err != nil {
		return err
	}
	defer o.close()
	before := time.Now().Add(-age)
	n, err := o.st.RunPrune(ctx, &store.RunPruneParams{Before: before})
	if err != nil {
		return err
	}
	if err := o.audit(ctx, "run.prune", "", fmt.Sprintf("%d runs ended before %s", n, before.UTC().Format(time.RFC3339))); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "pruned %d runs that ended before %s, with their steps and logs\n", n, before.Local().Format(time.DateTime))
	return nil
}

// prunePostgres prunes a PostgreSQL store, which the servers on it may go
// on using meanwhile: it deletes in bounded batches, each one transaction.
func prunePostgres(ctx context.Context, env *Env, url, olderThan string) error {
	if olderThan == "" {
		return usagef("give --older-than, e.g. --older-than 30d")
	}
	age, err := parseAge(olderThan)
	if err != nil {
		return usagef("--older-than: %v", err)
	}
	st, err := openSharedStore(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	before := time.Now().Add(-age)
	n, err := st.RunPrune(ctx, &store.RunPruneParams{Before: before})
	if err != nil {
		return err
	}
	if err := auditLocal(ctx, st, "run.prune", "", fmt.Sprintf("%d runs ended before %s", n, before.UTC().Format(time.RFC3339))); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "pruned %d runs that ended before %s, with their steps and logs\n", n, before.Local().Format(time.DateTime))
	return nil
}

// parseAge reads a duration as Go writes it (90m, 720h) or in whole days
// (30d), as the config's retention is.
func parseAge(s string) (time.Duration, error) { return config.ParseAge(s) }

// pruneEvery deletes, until ctx ends, the runs that ended longer than
// retention ago: once at start, then at an interval of a tenth of the
// retention, between a second and an hour.
func pruneEvery(ctx context.Context, st store.Store, retention time.Duration, log *slog.Logger) {
	every := min(max(retention/10, time.Second), time.Hour)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		before := time.Now().Add(-retention)
		n, err := st.RunPrune(ctx, &store.RunPruneParams{Before: before})
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("prune runs", "retention", retention.String(), "err", err)
		case n > 0:
			log.Info("pruned runs", "count", n, "ended_before", before)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
