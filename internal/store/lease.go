package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Admit is nil when a queued run of pipeline may start now, with running
// of the pipeline's runs running and older of them queued before it; else
// [ErrBusy]. Runs are admitted oldest first, so one waits while an older
// one is queued.
func (g *Gate) Admit(pipeline string, running, older int) error {
	if older > 0 || (g.Limit > 0 && running >= g.Limit) || (g.Serial && running > 0) {
		return fmt.Errorf("%d runs of %q running, %d queued before this one: %w", running, pipeline, older, ErrBusy)
	}
	return nil
}

// CheckAttemptRoom is nil when one more attempt may start with running
// attempts running in the store, at most max ([StepStartParams.MaxRunning];
// 0 means no bound); else [ErrBusy].
func CheckAttemptRoom(running, max int) error {
	if max > 0 && running >= max {
		return fmt.Errorf("%d attempts running, at most %d: %w", running, max, ErrBusy)
	}
	return nil
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

// CheckEpoch is nil when a write made under lease epoch written may change
// a run whose epoch is current; else [ErrFenced]. Epoch 0 is not fenced.
func CheckEpoch(written, current int64) error {
	if written != 0 && written != current {
		return fmt.Errorf("written under lease epoch %d, the run is at %d: %w", written, current, ErrFenced)
	}
	return nil
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

// CheckRunClaim refuses a claim without an owner.
func CheckRunClaim(p *RunClaimParams) error {
	if p.Owner == "" {
		return errors.New("no owner")
	}
	return nil
}

// SortRunsOldestFirst orders runs as [Store.RunClaim] returns them: by
// creation time, then by ID.
func SortRunsOldestFirst(runs []*RunRow) {
	slices.SortFunc(runs, func(a, b *RunRow) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
