package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// wantErr fails t unless err's text is want, or err is nil when want is
// empty.
func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: got %v, want no error", what, err)
	case want != "" && (err == nil || err.Error() != want):
		t.Errorf("%s: got %v, want %q", what, err, want)
	}
}

func TestCheckRunCreate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []string
		done  []string
		want  string
	}{
		{"fine", []string{"a", "b"}, []string{"a"}, ""},
		{"no steps", nil, nil, ""},
		{"listed twice", []string{"a", "b", "a"}, nil, `step "a" listed twice`},
		{"done not a step", []string{"a"}, []string{"z", "b"}, `done step "b" is not one of its steps`},
		{"twice before done", []string{"a", "a"}, []string{"z"}, `step "a" listed twice`},
	} {
		p := &store.RunCreateParams{ID: "r", Steps: tc.steps, Done: map[string]map[string]string{}}
		for _, d := range tc.done {
			p.Done[d] = map[string]string{"K": "v"}
		}
		wantErr(t, tc.name, store.CheckRunCreate(p), tc.want)
	}
}

func TestCheckRunSetStatus(t *testing.T) {
	for _, st := range []store.RunStatus{store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunFailed, store.RunCanceled} {
		wantErr(t, string(st), store.CheckRunSetStatus(&store.RunSetStatusParams{Status: st}), "")
	}
	wantErr(t, "paused", store.CheckRunSetStatus(&store.RunSetStatusParams{Status: "paused"}), `unknown status "paused"`)
	wantErr(t, "empty", store.CheckRunSetStatus(&store.RunSetStatusParams{}), `unknown status ""`)
}

func TestFinishedAttemptStatus(t *testing.T) {
	for _, tc := range []struct {
		step, want store.StepStatus
		err        string
	}{
		{store.StepSucceeded, store.StepSucceeded, ""},
		{store.StepFailed, store.StepFailed, ""},
		{store.StepCanceled, store.StepCanceled, ""},
		{store.StepRetrying, store.StepFailed, ""},
		{store.StepSkipped, store.StepCanceled, ""},
		{store.StepPending, "", `a step cannot finish as "pending"`},
		{store.StepRunning, "", `a step cannot finish as "running"`},
		{"bogus", "", `a step cannot finish as "bogus"`},
	} {
		got, err := store.FinishedAttemptStatus(tc.step)
		wantErr(t, string(tc.step), err, tc.err)
		if got != tc.want {
			t.Errorf("FinishedAttemptStatus(%s) = %q, want %q", tc.step, got, tc.want)
		}
	}
}

func TestTimeChecks(t *testing.T) {
	now := time.Now()
	wantErr(t, "CheckNow(now)", store.CheckNow(now), "")
	wantErr(t, "CheckNow(zero)", store.CheckNow(time.Time{}), "time is the zero time")
	wantErr(t, "CheckScheduleTick(now)", store.CheckScheduleTick(&store.ScheduleTickParams{Tick: now}), "")
	wantErr(t, "CheckScheduleTick(zero)", store.CheckScheduleTick(&store.ScheduleTickParams{Now: now}), "tick is the zero time")
}

func TestTokenChecks(t *testing.T) {
	wantErr(t, "a hash", store.CheckTokenCreate(&store.TokenCreateParams{Hash: []byte{1}}), "")
	wantErr(t, "no hash", store.CheckTokenCreate(&store.TokenCreateParams{Name: "t", Hash: []byte{}}), "hash is empty")
	at := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	err := store.TokenRevokedError(at)
	wantErr(t, "TokenRevokedError", err, "revoked at 2026-03-01T12:00:00.000000005Z: conflict")
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("TokenRevokedError is not ErrConflict: %v", err)
	}
}

func TestRunKeyHolder(t *testing.T) {
	run := &store.RunRow{ID: "first"}
	err := fmt.Errorf("create run %q: %w", "second", &store.RunKeyExistsError{Key: "k", Run: run})
	if got := store.RunKeyHolder(err); got != run {
		t.Errorf("RunKeyHolder of a wrapped key error: %v, want the first run", got)
	}
	for _, err := range []error{nil, store.ErrExists, fmt.Errorf("x: %w", store.ErrNotFound)} {
		if got := store.RunKeyHolder(err); got != nil {
			t.Errorf("RunKeyHolder(%v) = %v, want nil", err, got)
		}
	}
}

func TestListMax(t *testing.T) {
	for _, tc := range []struct {
		what      string
		got, want int
	}{
		{"runs, 0", (&store.RunListParams{}).Max(), 100},
		{"runs, -1", (&store.RunListParams{Limit: -1}).Max(), 100},
		{"runs, 3", (&store.RunListParams{Limit: 3}).Max(), 3},
		{"logs, 0", (&store.LogListParams{}).Max(), 10000},
		{"logs, 20000", (&store.LogListParams{Limit: 20000}).Max(), 20000},
		{"audit, 0", (&store.AuditListParams{}).Max(), 100},
		{"audit, 1", (&store.AuditListParams{Limit: 1}).Max(), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("Max of %s: %d, want %d", tc.what, tc.got, tc.want)
		}
	}
}
