package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// Prune deletes the runs that ended before before, with their steps,
// attempts and logs, and returns how many it deleted. Runs that have not
// ended are kept however old they are; so are the containers of none,
// since a run ends only once its attempts' containers are removed.
func (e *Engine) Prune(ctx context.Context, before time.Time) (int, error) {
	n, err := e.st.RunPrune(ctx, &store.RunPruneParams{Before: before})
	if err != nil {
		return n, fmt.Errorf("engine: prune runs: %w", err)
	}
	if n > 0 {
		e.log.Info("pruned runs", "count", n, "ended_before", before.UTC())
	}
	return n, nil
}
