package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
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
		return open(t, filepath.Join(t.TempDir(), "baton.db"))
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nested", "dir", "baton.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.PipelinePut(ctx, &store.PipelinePutParams{Name: "p", Spec: []byte("spec"), Now: time.Now()}); err != nil {
		t.Fatalf("PipelinePut: %v", err)
	}
	if _, err := s.RunCreate(ctx, &store.RunCreateParams{ID: "r", Pipeline: "p", Revision: 1,
		Vars: map[string]string{"k": "v"}, Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatalf("RunCreate: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for range 2 { // the second reopen finds nothing to migrate
		s = open(t, path)
		r, err := s.RunGet(ctx, "r")
		if err != nil || r.Vars["k"] != "v" {
			t.Fatalf("RunGet after reopen: got %+v, %v", r, err)
		}
		p, err := s.PipelineGet(ctx, "p", 0)
		if err != nil || string(p.Spec) != "spec" {
			t.Fatalf("PipelineGet after reopen: got %+v, %v", p, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: got %q, %v", files, err)
	}
	if n := migrationsApplied(t, path); n != len(files) {
		t.Fatalf("schema_migrations: got %d rows, want %d", n, len(files))
	}
}

// TestMigrateFromVersion1 opens a database that baton wrote before
// migration 2: its rows stay, and gain the later fields' zero values.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "baton.db")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(v1),
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO runs (id, pipeline, revision, status, executor, created_at) VALUES ('r', 'p', 1, 'running', 'docker', 5)`,
		`INSERT INTO steps (run_id, name, idx, status, attempts) VALUES ('r', 's', 0, 'running', 1)`,
		`INSERT INTO attempts (run_id, step, attempt, status, removed, cleanup_error, started_at)
			VALUES ('r', 's', 1, 'running', 0, 'busy', 6)`,
	} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("build a version 1 database: %v", err)
		}
	}
	db.Close()

	s := open(t, path)
	r, err := s.RunGet(ctx, "r")
	if err != nil || r.Status != store.RunRunning || r.RetryOf != "" {
		t.Fatalf("RunGet of a version 1 run: got %+v, %v", r, err)
	}
	a, err := s.AttemptGet(ctx, "r", "s", 1)
	// An attempt from before attempts recorded their executor ran on its run's.
	if err != nil || a.CleanupError != "busy" || a.CleanupTries != 0 || a.ImageDigest != "" || a.Executor != "docker" {
		t.Fatalf("AttemptGet of a version 1 attempt: got %+v, %v", a, err)
	}
	if err := s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "r", Name: "s", Attempt: 1, Tries: 2}); err != nil {
		t.Fatalf("StepSetCleanup: %v", err)
	}
	if ok, err := s.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: "p", Key: "k", Tick: time.Now()}); !ok || err != nil {
		t.Fatalf("ScheduleTick: got %v, %v", ok, err)
	}
	if err := s.AttemptSetImage(ctx, "r", "s", 1, "sha256:aa"); err != nil {
		t.Fatalf("AttemptSetImage of a version 1 attempt: %v", err)
	}
	if err := s.SecretPut(ctx, &store.SecretPutParams{Name: "k", Value: []byte{0}, Now: time.Now()}); err != nil {
		t.Fatalf("SecretPut: %v", err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if n := migrationsApplied(t, path); n != len(files) {
		t.Fatalf("schema_migrations: got %d rows, want %d", n, len(files))
	}
}

// TestScheduleTickZeroRefused: the zero time means "never fired" to
// ScheduleLastTick, so it cannot be a tick.
func TestScheduleTickZeroRefused(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "baton.db"))
	ok, err := s.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: "p", Key: "k", Now: time.Now()})
	if ok || err == nil || !strings.Contains(err.Error(), "zero time") {
		t.Fatalf("ScheduleTick of the zero time: got %v, %v, want an error", ok, err)
	}
	last, err := s.ScheduleLastTick(ctx, "p", "k")
	if err != nil || !last.IsZero() {
		t.Fatalf("ScheduleLastTick after a refused tick: got %v, %v", last, err)
	}
}

// TestSecretEmptyValue: an empty value is stored as no bytes, not as NULL.
func TestSecretEmptyValue(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "baton.db"))
	for _, v := range [][]byte{nil, {}} {
		if err := s.SecretPut(ctx, &store.SecretPutParams{Name: "e", Value: v, Now: time.Now()}); err != nil {
			t.Fatalf("SecretPut of %#v: %v", v, err)
		}
		row, err := s.SecretGet(ctx, "e")
		if err != nil || row.Value == nil || len(row.Value) != 0 {
			t.Fatalf("SecretGet of an empty value: got %+v, %v", row, err)
		}
	}
}

// TestTokenRefusals: an empty hash would match no token's value, and the
// zero time means "not revoked".
func TestTokenRefusals(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "baton.db"))
	if _, err := s.TokenCreate(ctx, &store.TokenCreateParams{Name: "t", Role: "admin", Now: time.Now()}); err == nil ||
		!strings.Contains(err.Error(), "hash is empty") {
		t.Fatalf("TokenCreate without a hash: got %v, want an error", err)
	}
	if _, err := s.TokenCreate(ctx, &store.TokenCreateParams{Name: "t", Role: "admin", Hash: []byte{1}, Now: time.Now()}); err != nil {
		t.Fatalf("TokenCreate: %v", err)
	}
	if err := s.TokenRevoke(ctx, "t", time.Time{}); err == nil || !strings.Contains(err.Error(), "zero time") {
		t.Fatalf("TokenRevoke at the zero time: got %v, want an error", err)
	}
	tok, err := s.TokenGetByHash(ctx, []byte{1})
	if err != nil || !tok.RevokedAt.IsZero() {
		t.Fatalf("TokenGetByHash after a refused revoke: got %+v, %v", tok, err)
	}
}

func migrationsApplied(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baton.db")
	s := open(t, path)
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err = sqlite.Open(t.Context(), path, sqlite.Options{})
	if err == nil || !strings.Contains(err.Error(), "version 9999") || !strings.Contains(err.Error(), "upgrade baton") {
		t.Fatalf("Open of a newer database: got %v, want an error naming version 9999", err)
	}
}

func TestFileMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "baton.db")
	s := open(t, path)
	if _, err := s.RunCreate(t.Context(), &store.RunCreateParams{ID: "r", Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatalf("RunCreate: %v", err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(name), mode)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o700 {
		t.Errorf("created directory: mode %o, want 700", mode)
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		path string
		opts sqlite.Options
	}{
		{":memory:", sqlite.Options{}},
		{"", sqlite.Options{}},
		{filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Synchronous: "sometimes"}},
	} {
		if s, err := sqlite.Open(t.Context(), tc.path, tc.opts); err == nil {
			s.Close()
			t.Errorf("Open(%q, %+v): got no error", tc.path, tc.opts)
		}
	}
}

func TestPathWithURIChars(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?#%", "baton.db")
	s := open(t, path)
	if _, err := s.PipelinePut(t.Context(), &store.PipelinePutParams{Name: "p", Spec: []byte("x")}); err != nil {
		t.Fatalf("PipelinePut: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the path given: %v", err)
	}
}

func TestSentinelsWrapped(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "baton.db"))
	_, err := s.RunGet(t.Context(), "missing")
	if !errors.Is(err, store.ErrNotFound) || !strings.HasPrefix(err.Error(), `sqlite: run "missing"`) {
		t.Fatalf("RunGet: got %v", err)
	}
}

// BenchmarkStepCycle measures what one no-op step costs the store: creating
// a one-step run, starting its attempt and finishing it.
func BenchmarkStepCycle(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+sync, func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "baton.db"), sqlite.Options{Synchronous: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n atomic.Int64
			b.Run("serial", func(b *testing.B) {
				for b.Loop() {
					stepCycle(b, s, n.Add(1))
				}
				report(b)
			})
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(8) // 16 goroutines on 2 cores: steps of many runs at once
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						stepCycle(b, s, n.Add(1))
					}
				})
				report(b)
			})
		})
	}
}

func report(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

func stepCycle(b *testing.B, s *sqlite.Store, i int64) {
	ctx := context.Background()
	id := fmt.Sprintf("run-%d", i)
	now := time.Now()
	if _, err := s.RunCreate(ctx, &store.RunCreateParams{ID: id, Pipeline: "bench", Revision: 1,
		Vars: map[string]string{"A": "1"}, Steps: []string{"noop"}, Now: now}); err != nil {
		b.Fatal(err)
	}
	if err := s.StepStart(ctx, &store.StepStartParams{RunID: id, Name: "noop", Attempt: 1,
		TokenHash: []byte("0123456789abcdef0123456789abcdef"), Now: now}); err != nil {
		b.Fatal(err)
	}
	code := 0
	if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: id, Name: "noop", Attempt: 1,
		Status: store.StepSucceeded, ExitCode: &code, Outputs: map[string]string{"B": "2"}, Now: now}); err != nil {
		b.Fatal(err)
	}
}

func TestCanceledAndClosed(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = s.RunCreate(ctx, &store.RunCreateParams{ID: "r", Steps: []string{"s"}, Now: time.Now()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunCreate with a canceled context: got %v", err)
	}
	if _, err := s.RunGet(t.Context(), "r"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RunGet of a canceled create: got %v, want not found", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close twice: %v", err)
	}
	_, err = s.RunCreate(t.Context(), &store.RunCreateParams{ID: "r", Steps: []string{"s"}, Now: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("RunCreate after Close: got %v", err)
	}
}
