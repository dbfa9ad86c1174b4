package store

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The checks below are what every [Store] refuses before it writes
// anything, so that the stores refuse alike. Their errors say what was
// wrong and leave naming the row to the caller, which wraps them.

// CheckRunCreate refuses p when it lists a step twice or has a done step
// that is not one of its steps.
func CheckRunCreate(p *RunCreateParams) error {
	seen := make(map[string]bool, len(p.Steps))
	for _, name := range p.Steps {
		if seen[name] {
			return fmt.Errorf("step %q listed twice", name)
		}
		seen[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(p.Done)) {
		if !seen[name] {
			return fmt.Errorf("done step %q is not one of its steps", name)
		}
	}
	return nil
}

// CheckRunSetStatus refuses a status that is none of the [RunStatus]
// values.
func CheckRunSetStatus(p *RunSetStatusParams) error {
	switch p.Status {
	case RunQueued, RunRunning, RunSucceeded, RunFailed, RunCanceled:
		return nil
	}
	return fmt.Errorf("unknown status %q", p.Status)
}

// FinishedAttemptStatus is the status in which [Store.StepFinish] ends
// the attempt of a step it moves to status: the step's own, except that a
// step going to retry leaves its attempt failed and a skipped step's
// attempt is canceled. A step cannot finish as pending or running.
func FinishedAttemptStatus(status StepStatus) (StepStatus, error) {
	switch status {
	case StepSucceeded, StepFailed, StepCanceled:
		return status, nil
	case StepRetrying:
		return StepFailed, nil
	case StepSkipped:
		return StepCanceled, nil
	}
	return "", fmt.Errorf("a step cannot finish as %q", status)
}

// CheckScheduleTick refuses the zero tick: [Store.ScheduleLastTick] means
// "never fired" by it.
func CheckScheduleTick(p *ScheduleTickParams) error {
	if p.Tick.IsZero() {
		return errors.New("tick is the zero time")
	}
	return nil
}

// CheckNow refuses the zero time as the time of a change whose time is
// stored where zero means it never happened: a token's revocation, a
// pipeline's deletion, a pause.
func CheckNow(now time.Time) error {
	if now.IsZero() {
		return errors.New("time is the zero time")
	}
	return nil
}

// CheckTokenCreate refuses an empty hash: it would match no token's value.
func CheckTokenCreate(p *TokenCreateParams) error {
	if len(p.Hash) == 0 {
		return errors.New("hash is empty")
	}
	return nil
}

// TokenRevokedError is the refusal to revoke a token revoked already, at
// at. It is an [ErrConflict].
func TokenRevokedError(at time.Time) error {
	return fmt.Errorf("revoked at %s: %w", at.Format(time.RFC3339Nano), ErrConflict)
}
