//go:build !postgres

package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStorePostgresNotBuiltIn: a baton built without the PostgreSQL store
// refuses a postgres:// store before it opens anything, saying how to
// build one that has it.
func TestStorePostgresNotBuiltIn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := &Env{Stdin: strings.NewReader(""), Stdout: os.Stderr, Stderr: os.Stderr, Getenv: func(string) string { return "" }}
	err := runServer(t.Context(), env, []string{"--store", "postgres://baton:s3cr3t@db/baton", "--data-dir", dir, "--executor", "noop"})
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "-tags postgres") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("--store postgres://... without the store built in: got %v, want a usage error saying how to build it", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused server made its data dir: %v", err)
	}
}

// TestPrunePostgresNotBuiltIn: prune --store postgres://… in a baton built
// without the store is a usage error saying how to build one, never
// echoing the URL's password.
func TestPrunePostgresNotBuiltIn(t *testing.T) {
	env := &Env{Stdin: strings.NewReader(""), Stdout: os.Stderr, Stderr: os.Stderr, Getenv: func(string) string { return "" }}
	err := runPrune(t.Context(), env, []string{"--store", "postgres://baton:s3cr3t@db/baton", "--older-than", "30d"})
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "-tags postgres") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("prune --store postgres://... without the store built in: got %v", err)
	}
}
