package postgres_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
)

func openWithIdentity(t *testing.T, url, dir string) (*postgres.Store, error) {
	t.Helper()
	return postgres.Open(t.Context(), url, postgres.Options{IdentityFile: filepath.Join(dir, postgres.IdentityFileName)})
}

func mustOpenWithIdentity(t *testing.T, url, dir string) *postgres.Store {
	t.Helper()
	s, err := openWithIdentity(t, url, dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestIdentityFile: the first open writes the file; a store dropped or
// swapped under a data dir that used one is refused, changing nothing; a
// data dir moved away starts afresh; a second data dir on the same store
// (another server) takes its identity.
func TestIdentityFile(t *testing.T) {
	storeURL := pgtest.Schema(t)
	dir := t.TempDir()
	s := mustOpenWithIdentity(t, storeURL, dir)
	if _, err := s.RunCreate(t.Context(), &store.RunCreateParams{ID: "r", Pipeline: "p", Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	file := filepath.Join(dir, postgres.IdentityFileName)
	text, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(text), "id=") {
		t.Fatalf("identity file after the first open: %q, %v", text, err)
	}
	if strings.Contains(string(text), "password") || strings.Contains(string(text), "search_path") {
		t.Fatalf("identity file shows the URL's parameters: %q", text)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode: %v, %v; want 600", fi.Mode(), err)
	}
	mustOpenWithIdentity(t, storeURL, dir).Close()

	other := mustOpenWithIdentity(t, storeURL, t.TempDir()) // a second server's data dir
	other.Close()

	// The store emptied (schema dropped and made again): refused.
	schema := schemaOf(t, storeURL)
	pgtest.Exec(t, pgtest.URL(t), `DROP SCHEMA "`+schema+`" CASCADE`, `CREATE SCHEMA "`+schema+`"`)
	_, err = openWithIdentity(t, storeURL, dir)
	if err == nil || !strings.Contains(err.Error(), "holds no baton store but this data dir was used with one") {
		t.Fatalf("Open of an emptied store: got %v", err)
	}
	if n := count(t, storeURL, `SELECT count(*) FROM pg_tables WHERE schemaname = '`+schema+`'`); n != 0 {
		t.Fatalf("a refused open left %d tables", n)
	}

	// Another store under the data dir: refused.
	_, err = openWithIdentity(t, pgtest.Schema(t), dir)
	if err == nil || !strings.Contains(err.Error(), "holds no baton store") {
		t.Fatalf("Open of another, empty store: got %v", err)
	}
	elsewhere := pgtest.Schema(t)
	mustOpenWithIdentity(t, elsewhere, t.TempDir()).Close()
	_, err = openWithIdentity(t, elsewhere, dir)
	if err == nil || !strings.Contains(err.Error(), "not the one this data dir was used with") {
		t.Fatalf("Open of another store: got %v", err)
	}

	// Moved away, the data dir starts afresh.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	mustOpenWithIdentity(t, storeURL, dir).Close()
}

// schemaOf is the schema a test URL's search_path names.
func schemaOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}

func TestIdentityFileBroken(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, postgres.IdentityFileName), []byte("junk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openWithIdentity(t, pgtest.Schema(t), dir)
	if err == nil || !strings.Contains(err.Error(), "names no store") {
		t.Fatalf("Open with an identity file without an id: got %v", err)
	}
}
