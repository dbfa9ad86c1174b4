package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/storetest"
)

// BenchmarkStore runs the benchmarks every store shares (see
// storetest.Bench), for comparing SQLite with the others.
func BenchmarkStore(b *testing.B) {
	var path string
	storetest.Bench(b, func(b *testing.B) store.Store {
		path = filepath.Join(b.TempDir(), "baton.db")
		return open(b, path)
	}, func(b *testing.B, runs int) { fill(b, path, runs) })
}

// fill makes the runs of storetest.FillRun in a few statements, beside the
// store's own connections.
func fill(b *testing.B, path string, runs int) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	base := storetest.FillBase.UnixNano()
	for _, q := range []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %[2]d)
			INSERT INTO runs (id, pipeline, revision, status, params, executor, created_at, started_at, finished_at)
			SELECT printf('run-%%08d', i), 'pipeline-' || (i %% 20), 1,
				CASE WHEN i %% 100 = 0 THEN 'running' WHEN i %% 10 = 0 THEN 'failed' ELSE 'succeeded' END,
				'{"n":"' || i || '"}', 'noop', %[1]d + i * 1000000000,
				%[1]d + (i + 1) * 1000000000,
				CASE WHEN i %% 100 = 0 THEN 0 ELSE %[1]d + (i + 2 + i %% 60) * 1000000000 END
			FROM n`, base, runs),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %d)
			INSERT INTO steps (run_id, name, idx, status)
			SELECT printf('run-%%08d', i), s.name, s.idx, 'pending'
			FROM n, (SELECT 'fetch' AS name, 0 AS idx UNION ALL SELECT 'build', 1 UNION ALL SELECT 'test', 2) AS s`, runs),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %[2]d)
			INSERT INTO attempts (run_id, step, attempt, status, started_at, executor)
			SELECT printf('run-%%08d', i), 'build', 1, 'succeeded', %[1]d + i * 1000000000, 'noop' FROM n`, base, runs),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %[2]d),
			l(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM l WHERE j + 1 < %[3]d)
			INSERT INTO logs (run_id, step, attempt, ts, stream, text)
			SELECT printf('run-%%08d', i), 'build', 1, %[1]d + i * 1000000000 + j, 'stdout', 'line ' || j || ' of run ' || i
			FROM n, l ORDER BY i, j`, base, runs, storetest.FillLogLines),
		`ANALYZE`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("fill: %v", err)
		}
	}
}
