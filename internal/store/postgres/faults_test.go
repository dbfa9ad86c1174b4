package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestLockTimeoutUnavailable has a write wait on a lock past lock_timeout,
// as on a database busy with a migration or a long backup: the write is
// store.ErrUnavailable, changed nothing, and goes through once the lock is
// free.
func TestLockTimeoutUnavailable(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	s := open(t, url+"&lock_timeout=200ms")
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE runs IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	create := &store.RunCreateParams{ID: "r", Pipeline: "p", Steps: []string{"s"}, Now: time.Now()}
	_, err = s.RunCreate(ctx, create)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("RunCreate while the table is locked: got %v, want store.ErrUnavailable", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunGet(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RunGet after a failed create: got %v, want not found", err)
	}
	if _, err := s.RunCreate(ctx, create); err != nil {
		t.Fatalf("RunCreate once the lock is free: %v", err)
	}
}

// TestConnectionsCut ends every connection of the store, as a database
// restart does: the next write, and the next read, go through on new
// connections.
func TestConnectionsCut(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	app := schemaOf(t, url) // a name no other test's connections have
	s := open(t, url+"&application_name="+app)
	cut := func() {
		t.Helper()
		if n := count(t, pgtest.URL(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '`+app+`'`); n == 0 {
			t.Fatalf("the store has no connection to cut")
		}
	}
	for i := range 3 {
		id := string(rune('a' + i))
		if i > 0 {
			cut()
		}
		if _, err := s.RunCreate(ctx, &store.RunCreateParams{ID: id, Pipeline: "p", Steps: []string{"s"}, Now: time.Now()}); err != nil {
			t.Fatalf("RunCreate after the connections were cut: %v", err)
		}
		cut()
		if _, err := s.RunGet(ctx, id); err != nil {
			t.Fatalf("RunGet after the connections were cut: %v", err)
		}
	}
}

func TestCanceledAndClosed(t *testing.T) {
	s, err := postgres.Open(t.Context(), pgtest.Schema(t), postgres.Options{})
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
	if _, err := s.RunGet(t.Context(), "r"); err == nil {
		t.Fatal("RunGet after Close: got no error")
	}
}

// TestURLNeverShown: errors name the database without the URL's password
// or parameters, which may carry credentials.
func TestURLNeverShown(t *testing.T) {
	for _, u := range []string{
		"postgres://baton:s3cr3t-pw@127.0.0.1:1/baton?sslmode=disable&connect_timeout=2",
		"postgres://baton@127.0.0.1:1/baton?sslmode=disable&password=s3cr3t-pw&connect_timeout=2",
	} {
		_, err := postgres.Open(t.Context(), u, postgres.Options{})
		if err == nil {
			t.Fatalf("Open of a closed port: got no error")
		}
		if strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "postgres://baton@127.0.0.1:1/baton") {
			t.Fatalf("Open error %q: want the database named without the password", err)
		}
	}
	for _, u := range []string{"sqlite", "host=127.0.0.1 password=s3cr3t-pw", "mysql://x:s3cr3t-pw@h/db", "postgres://x:s3cr3t-pw@h:notaport/db"} {
		_, err := postgres.Open(t.Context(), u, postgres.Options{})
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "postgres://") {
			t.Fatalf("Open(%q): got %v, want a refusal that shows how to write the URL and not the password", u, err)
		}
	}
}

// TestTextPostgresCannotHold: text with NUL bytes or invalid UTF-8, which
// PostgreSQL text refuses, round-trips where a step or an executor puts it
// (log lines, errors, audit details); a key that holds such bytes names no
// row; a new row named so is refused with a plain error, not one a caller
// would retry.
func TestTextPostgresCannotHold(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.Schema(t))
	const odd = "a\x00b\xff\xfe\xc3(z"
	if _, err := s.RunCreate(ctx, &store.RunCreateParams{ID: "r", Pipeline: "p", Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "s", Attempt: 1, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.LogAppend(ctx, &store.LogAppendParams{RunID: "r", Step: "s", Attempt: 1,
		Lines: []store.LogLine{{Time: time.Now(), Stream: "stdout", Text: odd}}}); err != nil {
		t.Fatalf("LogAppend: %v", err)
	}
	lines, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s"})
	if err != nil || len(lines) != 1 || lines[0].Text != odd {
		t.Fatalf("LogList: got %+v, %v", lines, err)
	}
	code := 1
	if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "s", Attempt: 1, Status: store.StepFailed,
		ExitCode: &code, Error: odd, Now: time.Now()}); err != nil {
		t.Fatalf("StepFinish: %v", err)
	}
	if err := s.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "r", Name: "s", Attempt: 1, Error: odd, Tries: 1}); err != nil {
		t.Fatalf("StepSetCleanup: %v", err)
	}
	if err := s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunFailed, Error: odd, Now: time.Now()}); err != nil {
		t.Fatalf("RunSetStatus: %v", err)
	}
	a, err := s.AttemptGet(ctx, "r", "s", 1)
	if err != nil || a.Error != odd || a.CleanupError != odd {
		t.Fatalf("AttemptGet: got %+v, %v", a, err)
	}
	if r, err := s.RunGet(ctx, "r"); err != nil || r.Error != odd {
		t.Fatalf("RunGet: got %+v, %v", r, err)
	}
	if steps, err := s.StepList(ctx, "r"); err != nil || steps[0].Error != odd {
		t.Fatalf("StepList: got %+v, %v", steps, err)
	}
	if err := s.AuditAppend(ctx, &store.AuditEntry{Time: time.Now(), Action: "x", Detail: odd}); err != nil {
		t.Fatalf("AuditAppend: %v", err)
	}
	if got, err := s.AuditList(ctx, &store.AuditListParams{}); err != nil || got[0].Detail != odd {
		t.Fatalf("AuditList: got %+v, %v", got, err)
	}

	for _, key := range []string{"r\x00", "r\xff"} {
		if _, err := s.RunGet(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunGet(%q): got %v, want not found", key, err)
		}
		if _, err := s.AttemptGet(ctx, key, "s", 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("AttemptGet(%q): got %v, want not found", key, err)
		}
		if _, err := s.SecretGet(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SecretGet(%q): got %v, want not found", key, err)
		}
		if err := s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: key, Status: store.RunRunning, Now: time.Now()}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunSetStatus(%q): got %v, want not found", key, err)
		}
		if steps, err := s.StepList(ctx, key); err != nil || len(steps) != 0 {
			t.Fatalf("StepList(%q): got %d steps, %v", key, len(steps), err)
		}
		if runs, err := s.RunList(ctx, &store.RunListParams{Pipeline: key}); err != nil || len(runs) != 0 {
			t.Fatalf("RunList(%q): got %d runs, %v", key, len(runs), err)
		}
		_, err := s.RunCreate(ctx, &store.RunCreateParams{ID: key, Pipeline: "p", Steps: []string{"s"}, Now: time.Now()})
		if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "cannot store") {
			t.Fatalf("RunCreate(%q): got %v, want a plain refusal", key, err)
		}
	}
}

// TestScheduleTickZeroRefused: the zero time means "never fired" to
// ScheduleLastTick, so it cannot be a tick.
func TestScheduleTickZeroRefused(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.Schema(t))
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
	s := open(t, pgtest.Schema(t))
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
	s := open(t, pgtest.Schema(t))
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

func TestSentinelsWrapped(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	_, err := s.RunGet(t.Context(), "missing")
	if !errors.Is(err, store.ErrNotFound) || !strings.HasPrefix(err.Error(), `postgres: run "missing"`) {
		t.Fatalf("RunGet: got %v", err)
	}
}
