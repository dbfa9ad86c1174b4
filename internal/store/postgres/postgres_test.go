package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
	"github.com/baton-dev/baton/internal/store/storetest"
)

func open(t testing.TB, rawURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), rawURL, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, pgtest.Schema(t))
	})
}

// BenchmarkStore runs the benchmarks every store shares (see
// storetest.Bench) on a schema of the test server.
func BenchmarkStore(b *testing.B) {
	var url string
	storetest.Bench(b, func(b *testing.B) store.Store {
		url = pgtest.Schema(b)
		return open(b, url)
	}, func(b *testing.B, runs int) { pgtest.Exec(b, url, fillSQL(runs)...) })
}

// fillSQL makes the runs of storetest.FillRun in a few statements.
func fillSQL(runs int) []string {
	base := storetest.FillBase.UnixNano()
	return []string{
		fmt.Sprintf(`INSERT INTO runs (id, pipeline, revision, status, params, executor, created_at, started_at, finished_at)
			SELECT 'run-' || lpad(i::text, 8, '0'), 'pipeline-' || (i %% 20), 1,
				CASE WHEN i %% 100 = 0 THEN 'running' WHEN i %% 10 = 0 THEN 'failed' ELSE 'succeeded' END,
				'{"n":"' || i || '"}', 'noop', %[1]d + i * 1000000000,
				%[1]d + (i + 1) * 1000000000,
				CASE WHEN i %% 100 = 0 THEN 0 ELSE %[1]d + (i + 2 + i %% 60) * 1000000000 END
			FROM generate_series(0::bigint, %[2]d - 1) AS i`, base, runs),
		fmt.Sprintf(`INSERT INTO steps (run_id, name, idx, status)
			SELECT 'run-' || lpad(i::text, 8, '0'), s.name, s.idx, 'pending'
			FROM generate_series(0, %d - 1) AS i, (VALUES ('fetch', 0), ('build', 1), ('test', 2)) AS s (name, idx)`, runs),
		fmt.Sprintf(`INSERT INTO attempts (run_id, step, attempt, status, started_at, executor)
			SELECT 'run-' || lpad(i::text, 8, '0'), 'build', 1, 'succeeded', %[1]d + i * 1000000000, 'noop'
			FROM generate_series(0::bigint, %[2]d - 1) AS i`, base, runs),
		fmt.Sprintf(`INSERT INTO logs (run_id, step, attempt, ts, stream, text)
			SELECT 'run-' || lpad(i::text, 8, '0'), 'build', 1, %[1]d + i * 1000000000 + j, 'stdout', convert_to('line ' || j || ' of run ' || i, 'UTF8')
			FROM generate_series(0::bigint, %[2]d - 1) AS i, generate_series(0::bigint, %[3]d - 1) AS j ORDER BY i, j`, base, runs, storetest.FillLogLines),
		`ANALYZE runs`, `ANALYZE steps`, `ANALYZE attempts`, `ANALYZE logs`,
	}
}
