// Package storetest is the conformance suite every [store.Store]
// implementation must pass: call [Run] from the implementation's tests.
package storetest

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// Run runs the suite. open must return a new, empty store on each call and
// close it when t ends (t.Cleanup); subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PipelineRevisions", testPipelineRevisions},
		{"PipelineList", testPipelineList},
		{"RunCreateGet", testRunCreateGet},
		{"RunList", testRunList},
		{"RunListDefaultLimit", testRunListDefaultLimit},
		{"RunSetStatus", testRunSetStatus},
		{"RunCreateDone", testRunCreateDone},
		{"RunCreateDoneUnknown", testRunCreateDoneUnknown},
		{"RunRetryOf", testRunRetryOf},
		{"RunCreateKey", testRunCreateKey},
		{"RunCreateKeyRace", testRunCreateKeyRace},
		{"StepLifecycle", testStepLifecycle},
		{"StepRetry", testStepRetry},
		{"StepFinishWithoutAttempt", testStepFinishWithoutAttempt},
		{"StepNotFound", testStepNotFound},
		{"StepSetCleanup", testStepSetCleanup},
		{"AttemptListUnremoved", testAttemptListUnremoved},
		{"StepFinishRecordsHandle", testStepFinishRecordsHandle},
		{"AttemptList", testAttemptList},
		{"Logs", testLogs},
		{"ScheduleTick", testScheduleTick},
		{"ScheduleTickRace", testScheduleTickRace},
		{"ScheduleTicks", testScheduleTicks},
		{"Concurrent", testConcurrent},
		{"Race", testRace},
		{"MapsRoundTrip", testMapsRoundTrip},
		{"TimesRoundTrip", testTimesRoundTrip},
		{"Secrets", testSecrets},
		{"SecretBytes", testSecretBytes},
		{"SecretErrorsHideValues", testSecretErrorsHideValues},
		{"Tokens", testTokens},
		{"TokenHashBytes", testTokenHashBytes},
		{"TokenCreateRace", testTokenCreateRace},
		{"Audit", testAudit},
		{"AuditDefaultLimit", testAuditDefaultLimit},
		{"AttemptSetImage", testAttemptSetImage},
		{"PipelineDelete", testPipelineDelete},
		{"SchedulePause", testSchedulePause},
		{"TokenRevokeKeeping", testTokenRevokeKeeping},
		{"TokenRevokeKeepingRace", testTokenRevokeKeepingRace},
		{"AttemptSealed", testAttemptSealed},
		{"RunPrune", testRunPrune},
		{"RunPruneMany", testRunPruneMany},
		{"RunPruneKeepsUnremoved", testRunPruneKeepsUnremoved},
		{"RunRequestCancel", testRunRequestCancel},
		{"RunEndEndsLeftovers", testRunEndEndsLeftovers},
		{"LogBytes", testLogBytes},
		{"RunClaim", testRunClaim},
		{"LeaseRenew", testLeaseRenew},
		{"LeaseRelease", testLeaseRelease},
		{"Fenced", testFenced},
		{"ClaimRace", testClaimRace},
		{"RunCreateOwned", testRunCreateOwned},
		{"Gate", testGate},
		{"RunParent", testRunParent},
		{"StepExpand", testStepExpand},
		{"RunListPages", testRunListPages},
		{"MaxRunning", testMaxRunning},
		{"LogFollow", testLogFollow},
		{"FenceRace", testFenceRace},
		{"MaxRunningRace", testMaxRunningRace},
		{"GateRace", testGateRace},
		{"NotifyQueued", testNotifyQueued},
		{"NotifyInvalid", testNotifyInvalid},
		{"NotifyClaimRecord", testNotifyClaimRecord},
		{"NotifyClaimOrder", testNotifyClaimOrder},
		{"NotifyClaimRace", testNotifyClaimRace},
		{"NotifyPrune", testNotifyPrune},
		{"ApprovalLifecycle", testApprovalLifecycle},
		{"ApprovalDecideOnce", testApprovalDecideOnce},
		{"ApprovalDecideRace", testApprovalDecideRace},
		{"ApprovalClosed", testApprovalClosed},
		{"ApprovalInvalid", testApprovalInvalid},
		{"ApprovalPruned", testApprovalPruned},
		{"RunListParams", testRunListParams},
		{"RunStats", testRunStats},
		{"RunCount", testRunCount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// t0 is the suite's clock: not UTC and not a whole second, so that a store
// losing the zone or the nanoseconds shows.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("UTC+1", 3600))

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// wantErr fails t unless err is target.
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// must fails t on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantTime fails t unless got is want, in UTC.
func wantTime(t *testing.T, got, want time.Time, what string) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Fatalf("%s: got %v, want the zero time", what, got)
		}
		return
	}
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("%s: got %v, want %v in UTC", what, got, want.UTC())
	}
}

// wantMap fails t unless got holds exactly want; nil and empty are equal.
func wantMap(t *testing.T, got, want map[string]string, what string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func wantExit(t *testing.T, got *int, want int, what string) {
	t.Helper()
	if got == nil || *got != want {
		t.Fatalf("%s: got exit code %v, want %d", what, fmtExit(got), want)
	}
}

func fmtExit(c *int) any {
	if c == nil {
		return "nil"
	}
	return *c
}

func intp(n int) *int { return &n }

// createRun creates a run of pipeline p with the given steps.
func createRun(t *testing.T, s store.Store, id, p string, now time.Time, steps ...string) *store.RunRow {
	t.Helper()
	r, err := s.RunCreate(t.Context(), &store.RunCreateParams{
		ID: id, Pipeline: p, Revision: 1, Executor: "noop", Steps: steps, Now: now,
	})
	must(t, err, "RunCreate "+id)
	return r
}

func startStep(t *testing.T, s store.Store, run, step string, attempt int) {
	t.Helper()
	must(t, s.StepStart(t.Context(), &store.StepStartParams{
		RunID: run, Name: step, Attempt: attempt, TokenHash: []byte("hash"), Now: at(attempt),
	}), "StepStart")
}

// stepOf returns the named step of a run.
func stepOf(t *testing.T, s store.Store, run, name string) *store.StepRow {
	t.Helper()
	steps, err := s.StepList(t.Context(), run)
	must(t, err, "StepList")
	for _, st := range steps {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("run %q has no step %q", run, name)
	return nil
}

func attemptOf(t *testing.T, s store.Store, run, step string, attempt int) *store.AttemptRow {
	t.Helper()
	a, err := s.AttemptGet(t.Context(), run, step, attempt)
	must(t, err, "AttemptGet")
	return a
}
