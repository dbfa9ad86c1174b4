// Package pgtest gives each test a PostgreSQL schema or database of its own
// on the server that BATON_TEST_POSTGRES names (.ci/pg-up starts one),
// dropped when the test ends. Without the variable the test is skipped,
// unless BATON_TEST_POSTGRES_REQUIRED=1 says it must run: then it fails, so
// a green run means the PostgreSQL tests ran.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The variables that say where the test server is and whether it must be.
const (
	EnvURL      = "BATON_TEST_POSTGRES"
	EnvRequired = "BATON_TEST_POSTGRES_REQUIRED"
)

// URL returns the test server's URL, or ends t: skipped, or failed when
// the server is required.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u != "" {
		return u
	}
	if os.Getenv(EnvRequired) == "1" {
		t.Fatalf("%s is not set but %s=1: start a server with .ci/pg-up and export the line it prints", EnvURL, EnvRequired)
	}
	t.Skipf("%s is not set; start a server with .ci/pg-up and export the line it prints", EnvURL)
	return ""
}

// Schema makes an empty schema on the test server and returns a URL whose
// search_path is that schema alone. It is dropped, with all it holds, when
// t ends.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := newName()
	Exec(t, base, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() { Exec(t, base, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`) })
	return withSchema(t, base, name)
}

// Database makes an empty database on the test server and returns its URL.
// It is dropped when t ends, whoever is still connected to it.
func Database(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := newName()
	Exec(t, base, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() { Exec(t, base, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Exec runs statements on the database rawURL names, failing t on error:
// for tests that set up or break things behind a store's back, and for
// benchmarks that fill one (bounded at 30 minutes, for a million runs on a
// slow disk).
func Exec(t testing.TB, rawURL string, sql ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(context.Background())
	for _, q := range sql {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// withSchema is rawURL with search_path set to schema.
func withSchema(t testing.TB, rawURL, schema string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func newName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "baton_test_" + hex.EncodeToString(b[:])
}
