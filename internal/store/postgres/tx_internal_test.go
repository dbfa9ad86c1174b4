package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/baton-dev/baton/internal/store"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestClassify: which errors of a write that was not committed are which
// sentinel, and which are tried again at once.
func TestClassify(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Severity: "ERROR", Code: code}) }
	for _, tc := range []struct {
		name  string
		err   error
		want  error // nil: no sentinel
		retry bool
	}{
		{"unique", pg("23505"), store.ErrExists, false},
		{"foreign key", pg("23503"), store.ErrNotFound, false},
		{"disk full", pg("53100"), store.ErrUnavailable, false},
		{"too many connections", pg("53300"), store.ErrUnavailable, false},
		{"read-only standby", pg("25006"), store.ErrUnavailable, false},
		{"lock timeout", pg("55P03"), store.ErrUnavailable, false},
		{"statement timeout", pg("57014"), store.ErrUnavailable, false},
		{"I/O error", pg("58030"), store.ErrUnavailable, false},
		{"serialization", pg("40001"), store.ErrUnavailable, true},
		{"deadlock", pg("40P01"), store.ErrUnavailable, true},
		{"admin shutdown", pg("57P01"), store.ErrUnavailable, true},
		{"connection failure", pg("08006"), store.ErrUnavailable, true},
		{"syntax", pg("42601"), nil, false},
		{"NUL in text", pg("22021"), nil, false},
		{"lost", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), store.ErrUnavailable, true},
		{"timeout", context.DeadlineExceeded, store.ErrUnavailable, true},
		{"commit unknown", fmt.Errorf("%w: %w", errCommitUnknown, io.ErrUnexpectedEOF), nil, false},
		{"conflict", fmt.Errorf("step is running: %w", store.ErrConflict), store.ErrConflict, false},
		{"fenced", store.ErrFenced, store.ErrFenced, false},
		{"other", errors.New("cannot encode"), nil, false},
	} {
		got := classify(tc.err)
		for _, sentinel := range []error{store.ErrExists, store.ErrNotFound, store.ErrUnavailable, store.ErrConflict, store.ErrFenced} {
			if errors.Is(got, sentinel) != (sentinel == tc.want) {
				t.Errorf("%s: classify gives %v, want sentinel %v", tc.name, got, tc.want)
			}
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("%s: classify lost the error: %v", tc.name, got)
		}
		if r := retryable(tc.err); r != tc.retry {
			t.Errorf("%s: retryable %v, want %v", tc.name, r, tc.retry)
		}
	}
}
