package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// count runs a count(*) query on the database rawURL names.
func count(t *testing.T, rawURL, query string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func migrationFiles(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: got %q, %v", files, err)
	}
	return len(files)
}

// TestMigrationRace opens one fresh database from many servers at once:
// each migration is applied once, the database gets one identity, and
// every store works.
func TestMigrationRace(t *testing.T) {
	url := pgtest.Database(t)
	const servers = 8
	stores := make([]*postgres.Store, servers)
	errs := make([]error, servers)
	dir := t.TempDir()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = postgres.Open(t.Context(), url, postgres.Options{
				IdentityFile: filepath.Join(dir, fmt.Sprint("server", i), postgres.IdentityFileName)})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d of %d at once: %v", i, servers, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if n := count(t, url, `SELECT count(*) FROM schema_migrations`); n != migrationFiles(t) {
		t.Fatalf("schema_migrations: %d rows, want %d", n, migrationFiles(t))
	}
	if n := count(t, url, `SELECT count(*) FROM identity`); n != 1 {
		t.Fatalf("identity: %d rows after %d opens at once, want 1", n, servers)
	}
	for i, s := range stores {
		if _, err := s.RunCreate(t.Context(), &store.RunCreateParams{ID: fmt.Sprint("r", i), Pipeline: "p",
			Steps: []string{"s"}, Now: time.Now()}); err != nil {
			t.Fatalf("RunCreate through store %d: %v", i, err)
		}
	}
	runs, err := stores[0].RunList(t.Context(), &store.RunListParams{})
	if err != nil || len(runs) != servers {
		t.Fatalf("RunList: %d runs, %v; want %d, one from each", len(runs), err, servers)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	s, err := postgres.Open(ctx, url, postgres.Options{})
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
	s.Close()
	for range 2 { // the second reopen finds nothing to migrate
		s = open(t, url)
		r, err := s.RunGet(ctx, "r")
		if err != nil || r.Vars["k"] != "v" {
			t.Fatalf("RunGet after reopen: got %+v, %v", r, err)
		}
		p, err := s.PipelineGet(ctx, "p", 0)
		if err != nil || string(p.Spec) != "spec" {
			t.Fatalf("PipelineGet after reopen: got %+v, %v", p, err)
		}
		s.Close()
	}
	if n := count(t, url, `SELECT count(*) FROM schema_migrations`); n != migrationFiles(t) {
		t.Fatalf("schema_migrations: %d rows, want %d", n, migrationFiles(t))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	url := pgtest.Schema(t)
	open(t, url).Close()
	pgtest.Exec(t, url, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`)
	_, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "version 9999") || !strings.Contains(err.Error(), "upgrade baton") {
		t.Fatalf("Open of a newer schema: got %v, want an error naming version 9999", err)
	}
}

// TestSchemasApart: stores in two schemas of one database share nothing,
// and one whose search_path names no schema is refused with what to do.
func TestSchemasApart(t *testing.T) {
	ctx := t.Context()
	a, b := open(t, pgtest.Schema(t)), open(t, pgtest.Schema(t))
	if _, err := a.RunCreate(ctx, &store.RunCreateParams{ID: "r", Pipeline: "p", Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RunGet(ctx, "r"); err == nil {
		t.Fatal("a run of one schema's store is seen from another's")
	}
	if _, err := b.RunCreate(ctx, &store.RunCreateParams{ID: "r", Pipeline: "p", Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatalf("the same run ID in another schema: %v", err)
	}

	missing := strings.Replace(pgtest.Schema(t), "search_path=", "search_path=no_such_", 1)
	_, err := postgres.Open(ctx, missing, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "create the schema") {
		t.Fatalf("Open with a search_path naming no schema: got %v", err)
	}
}
