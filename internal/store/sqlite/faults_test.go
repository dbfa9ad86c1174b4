package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// TestLimitSizeFailsWritesUnchanged fills the database to its bound, as a
// full disk would: writes fail as store.ErrUnavailable and change nothing,
// and succeed again once there is room.
func TestLimitSizeFailsWritesUnchanged(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "baton.db"))
	if _, err := s.RunCreate(ctx, &store.RunCreateParams{ID: "r", Pipeline: "p", Revision: 1, Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "s", Attempt: 1, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.LimitSize(ctx, 1); err != nil {
		t.Fatalf("LimitSize: %v", err)
	}
	big := &store.LogAppendParams{RunID: "r", Step: "s", Attempt: 1}
	for range 200 {
		big.Lines = append(big.Lines, store.LogLine{Time: time.Now(), Stream: "stdout", Text: strings.Repeat("x", 1000)})
	}
	err := s.LogAppend(ctx, big)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("LogAppend past the size limit: got %v, want an error wrapping store.ErrUnavailable", err)
	}
	lines, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s"})
	if err != nil || len(lines) != 0 {
		t.Fatalf("a failed append stored %d lines (err %v)", len(lines), err)
	}
	if a, err := s.AttemptGet(ctx, "r", "s", 1); err != nil || a.LogBytes != 0 {
		t.Fatalf("a failed append counted bytes: %+v, %v", a, err)
	}
	if err := s.LimitSize(ctx, 0); err != nil {
		t.Fatalf("LimitSize 0: %v", err)
	}
	if err := s.LogAppend(ctx, big); err != nil {
		t.Fatalf("LogAppend once the limit is lifted: %v", err)
	}
	if err := s.LimitSize(ctx, -1); err == nil {
		t.Fatal("LimitSize(-1): got no error")
	}
}

func openWithIdentity(t *testing.T, dir string) (*sqlite.Store, error) {
	t.Helper()
	return sqlite.Open(context.Background(), filepath.Join(dir, "baton.db"),
		sqlite.Options{IdentityFile: filepath.Join(dir, "baton.db.id")})
}

func mustOpenWithIdentity(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := openWithIdentity(t, dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func addRun(t *testing.T, s *sqlite.Store, id string) {
	t.Helper()
	if _, err := s.RunCreate(t.Context(), &store.RunCreateParams{ID: id, Pipeline: "p", Revision: 1, Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantRefusedEmpty checks Open's refusal of an emptied database.
func wantRefusedEmpty(t *testing.T, dir string, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("Open of an emptied database in a used data dir: got no error")
	}
	for _, want := range []string{"the database in " + dir + " is empty but this data dir was used before",
		"baton.db.id names database", "restore baton.db and baton.db-wal, or move the data dir away"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("refusal %q does not say %q", err, want)
		}
	}
}

// TestIdentityRefusesLostDatabase: a data dir whose database lost its WAL
// (as a kill -9 before a checkpoint and a deleted WAL leave it) or was
// deleted is refused, and the refusal changes nothing: putting the files
// back brings every run back.
func TestIdentityRefusesLostDatabase(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenWithIdentity(t, dir)
	idFile := filepath.Join(dir, "baton.db.id")
	id := readFile(t, idFile)
	if !bytes.Contains(id, []byte("id=")) {
		t.Fatalf("identity file: %q", id)
	}
	if fi, err := os.Stat(idFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode: %v, %v; want 0600", fi.Mode(), err)
	}
	addRun(t, s, "accepted")

	// A copy taken now is what a crash leaves: the run is in the WAL only.
	crashed := t.TempDir()
	for _, name := range []string{"baton.db", "baton.db-wal", "baton.db.id"} {
		copyFile(t, filepath.Join(dir, name), filepath.Join(crashed, name))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("wal deleted", func(t *testing.T) {
		lost := t.TempDir()
		copyFile(t, filepath.Join(crashed, "baton.db"), filepath.Join(lost, "baton.db"))
		copyFile(t, filepath.Join(crashed, "baton.db.id"), filepath.Join(lost, "baton.db.id"))
		_, err := openWithIdentity(t, lost)
		wantRefusedEmpty(t, lost, err)
		if got := readFile(t, filepath.Join(lost, "baton.db.id")); !bytes.Equal(got, id) {
			t.Fatalf("the refusal rewrote the identity file: %q, was %q", got, id)
		}
		// Restoring the WAL brings the run back: the refusal wrote nothing.
		copyFile(t, filepath.Join(crashed, "baton.db-wal"), filepath.Join(lost, "baton.db-wal"))
		s := mustOpenWithIdentity(t, lost)
		defer s.Close()
		if _, err := s.RunGet(t.Context(), "accepted"); err != nil {
			t.Fatalf("after restoring the WAL: %v", err)
		}
	})
	t.Run("emptied, then opened without the check", func(t *testing.T) {
		lost := t.TempDir()
		copyFile(t, filepath.Join(crashed, "baton.db"), filepath.Join(lost, "baton.db"))
		copyFile(t, filepath.Join(crashed, "baton.db.id"), filepath.Join(lost, "baton.db.id"))
		plain, err := sqlite.Open(t.Context(), filepath.Join(lost, "baton.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := plain.Close(); err != nil { // it made an empty schema
			t.Fatal(err)
		}
		_, err = openWithIdentity(t, lost)
		wantRefusedEmpty(t, lost, err)
	})
	t.Run("database deleted", func(t *testing.T) {
		for _, name := range []string{"baton.db", "baton.db-wal", "baton.db-shm"} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
		}
		_, err := openWithIdentity(t, dir)
		wantRefusedEmpty(t, dir, err)
		if _, err := os.Stat(filepath.Join(dir, "baton.db")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the refusal created a database file: %v", err)
		}
		if got := readFile(t, idFile); !bytes.Equal(got, id) {
			t.Fatalf("the refusal rewrote the identity file")
		}
	})
	t.Run("intact", func(t *testing.T) {
		s := mustOpenWithIdentity(t, crashed)
		defer s.Close()
		if _, err := s.RunGet(t.Context(), "accepted"); err != nil {
			t.Fatalf("RunGet: %v", err)
		}
	})
}

// TestIdentityRefusesAnotherDatabase: a database from another data dir is
// not taken for this one's.
func TestIdentityRefusesAnotherDatabase(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		s := mustOpenWithIdentity(t, dir)
		addRun(t, s, "r")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(b, "baton.db.id"), filepath.Join(a, "baton.db.id"))
	_, err := openWithIdentity(t, a)
	if err == nil || !strings.Contains(err.Error(), "is not the one this data dir was used with") {
		t.Fatalf("Open of another data dir's database: got %v", err)
	}
}

// TestIdentityAdopted: a database made before identities, or whose file
// was removed, gets one, and is opened.
func TestIdentityAdopted(t *testing.T) {
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "baton.db")) // no identity file
	addRun(t, s, "old")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpenWithIdentity(t, dir)
	if _, err := s2.RunGet(t.Context(), "old"); err != nil {
		t.Fatalf("RunGet: %v", err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	id := readFile(t, filepath.Join(dir, "baton.db.id"))
	// The file removed by hand is written again, with the same identity.
	if err := os.Remove(filepath.Join(dir, "baton.db.id")); err != nil {
		t.Fatal(err)
	}
	s3 := mustOpenWithIdentity(t, dir)
	if err := s3.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "baton.db.id")); !bytes.Equal(got, id) {
		t.Fatalf("identity file written again: %q, want %q", got, id)
	}
}
