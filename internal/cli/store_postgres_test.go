//go:build postgres

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/store/postgres"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestServersOnPostgres starts two servers on one PostgreSQL store, each
// with its own data dir: a run made through one is read through the other,
// the store lives in the database and not in the data dirs, and each data
// dir names the store it used.
func TestServersOnPostgres(t *testing.T) {
	url := pgtest.Schema(t)
	dirs := []string{t.TempDir(), t.TempDir()}
	a := startServer(t, "--store", url, "--data-dir", dirs[0], "--executor", "noop")
	b := startServer(t, "--store", url, "--data-dir", dirs[1], "--executor", "noop")

	spec := filepath.Join(t.TempDir(), "echo.yaml")
	if err := os.WriteFile(spec, []byte("name: echo\nsteps:\n  - name: say\n    command: [\"true\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	client(t, a, "apply", "-f", spec)
	id := strings.TrimSpace(client(t, a, "run", "echo", "--watch"))
	if got := client(t, b, "runs", "get", id); !strings.Contains(got, "succeeded") {
		t.Fatalf("the run made through one server, read through the other:\n%s", got)
	}

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var status string
	if err := conn.QueryRow(t.Context(), `SELECT status FROM runs WHERE id = $1`, id).Scan(&status); err != nil || status != "succeeded" {
		t.Fatalf("the run in the database: %q, %v", status, err)
	}
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "baton.db")); err == nil {
			t.Errorf("%s has a SQLite database though the store is PostgreSQL", dir)
		}
		if _, err := os.Stat(filepath.Join(dir, postgres.IdentityFileName)); err != nil {
			t.Errorf("%s does not name the store it used: %v", dir, err)
		}
	}
}
