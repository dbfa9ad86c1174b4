package store

import (
	"errors"
	"time"
)

// ErrBusy: a gate shared by every server is full (see [Gate] and
// [StepStartParams.MaxRunning]), and nothing was changed; the same call may
// succeed once something ends.
var ErrBusy = errors.New("no place free now")

// Gate bounds the runs of one pipeline running at once, across every server
// on the store.
type Gate struct {
	// Limit is the most runs of the pipeline running at once; 0: no bound.
	Limit int
	// Serial admits the run only when no other run of the pipeline runs.
	Serial bool
}

// ErrFenced: the write came from a server that no longer holds the run's
// lease (another server claimed the run since), and nothing was changed.
// The writer must stop driving the run: its new owner does.
var ErrFenced = errors.New("run is driven by another server now")

// Lease says which server drives an unfinished run. Every claim of a run
// raises its Epoch; a write that carries an older epoch is [ErrFenced], so a
// server that lost a run (paused, cut off) can commit nothing more to it.
type Lease struct {
	// Owner is the server that holds the run; empty when nobody does.
	Owner string
	// Epoch counts the claims of the run; 0 when it was never claimed.
	Epoch int64
	// Until is when the lease ends unless renewed.
	Until time.Time
}

// RunClaimParams are the arguments of [Store.RunClaim].
type RunClaimParams struct {
	Owner string
	// Now decides which leases have ended; Until is when the new ones end.
	Now, Until time.Time
	// Limit is the most runs claimed at once; 0 means no bound.
	Limit int
	// Steal takes runs whatever their lease, for a store that only one
	// server can open at a time: whoever held them before is gone.
	Steal bool
	// IDs, when set, restricts the claim to these runs.
	IDs []string
	// Executors, when set, restricts the claim to runs made for one of
	// these executors (by [RunRow.Executor]): a server claims only what
	// it can run.
	Executors []string
}

// LeaseRenewParams are the arguments of [Store.LeaseRenew].
type LeaseRenewParams struct {
	Owner string
	Until time.Time
}

// LeaseHeld is one run a server still holds after [Store.LeaseRenew].
type LeaseHeld struct {
	RunID string
	Epoch int64
	// CancelRequested says a cancel of the run was stored, by any server.
	CancelRequested bool
}

// LeaseReleaseParams are the arguments of [Store.LeaseRelease].
type LeaseReleaseParams struct {
	Owner  string
	RunIDs []string
}
