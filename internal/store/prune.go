package store

import "fmt"

// PruneBatch is how many runs a store deletes in one transaction of
// [Store.RunPrune], so that pruning a long history never holds a writer
// or locks for long, and a prune cut short leaves whole runs, never parts
// of one.
const PruneBatch = 50

// PruneInBatches runs [Store.RunPrune] for p in batches: it calls batch,
// which deletes up to [PruneBatch] runs in one transaction and returns how
// many, until a batch deletes fewer. It returns how many runs were deleted
// in all, on error too: what was deleted stays deleted.
func PruneInBatches(p *RunPruneParams, batch func() (int, error)) (int, error) {
	total := 0
	for {
		n, err := batch()
		if err != nil {
			return total, fmt.Errorf("prune runs finished before %s: %w", p.Before.UTC().Format("2006-01-02T15:04:05Z07:00"), err)
		}
		total += n
		if n < PruneBatch {
			return total, nil
		}
	}
}
