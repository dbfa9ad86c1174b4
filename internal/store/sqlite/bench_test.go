package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/storetest"
)

// BenchmarkStore runs the benchmarks every store shares (see
// storetest.Bench), for comparing SQLite with the others.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		return open(b, filepath.Join(b.TempDir(), "baton.db"))
	})
}
