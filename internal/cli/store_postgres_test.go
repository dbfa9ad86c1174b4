//go:build postgres

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/auth"
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

// TestPrunePostgres: `baton prune --store URL` prunes a PostgreSQL store
// while its servers run: the old finished run goes, the recent one stays,
// and the prune is audited.
func TestPrunePostgres(t *testing.T) {
	url := pgtest.Schema(t)
	a := startServer(t, "--store", url, "--data-dir", t.TempDir(), "--executor", "noop")
	spec := filepath.Join(t.TempDir(), "echo.yaml")
	if err := os.WriteFile(spec, []byte("name: echo\nsteps:\n  - name: say\n    command: [\"true\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	client(t, a, "apply", "-f", spec)
	old := strings.TrimSpace(client(t, a, "run", "echo", "--watch"))
	recent := strings.TrimSpace(client(t, a, "run", "echo", "--watch"))
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The first run ended 40 days ago.
	if _, err := conn.Exec(t.Context(), `UPDATE runs SET finished_at = finished_at - $1 WHERE id = $2`, int64(40*24*3600)*1e9, old); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: os.Stderr, Getenv: func(string) string { return "" }}
	if err := runPrune(t.Context(), env, []string{"--store", url, "--older-than", "30d"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pruned 1 runs") {
		t.Errorf("prune said %q, want 1 run pruned", out.String())
	}
	var left []string
	rows, err := conn.Query(t.Context(), `SELECT id FROM runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		left = append(left, id)
	}
	if len(left) != 1 || left[0] != recent {
		t.Errorf("runs after prune: %q, want only %s", left, recent)
	}
	if got := client(t, a, "audit"); !strings.Contains(got, "run.prune") {
		t.Errorf("audit after prune:\n%s", got)
	}
}

// TestTokensCreateLocalPostgres: the way back in on a shared PostgreSQL
// store, with servers running: tokens create --local --store makes a token
// the store, and so every server on it, accepts, audited as local; a name
// taken is refused.
func TestTokensCreateLocalPostgres(t *testing.T) {
	url := pgtest.Schema(t)
	a := startServer(t, "--store", url, "--data-dir", t.TempDir(), "--executor", "noop")
	var out, errOut strings.Builder
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	args := []string{"--name", "rescue", "--role", "admin", "--local", "--store", url}
	if err := tokensCreate(t.Context(), env, args); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	token := strings.TrimSpace(out.String())
	st, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row, err := auth.New(st).Check(t.Context(), "Bearer "+token)
	if err != nil || row.Name != "rescue" || row.Role != string(auth.Admin) {
		t.Fatalf("the token made with --local --store: %v %+v", err, row)
	}
	if got := client(t, a, "audit"); !strings.Contains(got, "token.create") || !strings.Contains(got, "local") {
		t.Errorf("audit after tokens create --local --store:\n%s", got)
	}
	err = tokensCreate(t.Context(), env, args)
	if err == nil || !strings.Contains(err.Error(), `a token named "rescue" exists in the PostgreSQL store`) {
		t.Errorf("a second token named rescue: %v", err)
	}
	if err := tokensCreate(t.Context(), env, []string{"--name", "x", "--role", "admin", "--store", url}); err == nil || !strings.Contains(err.Error(), "--store goes with --local") {
		t.Errorf("--store without --local: %v", err)
	}
}
