package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Approvals are the decisions steps with an approval wait for. The engine
// opens one when such a step is reached; any server may record the
// decision; the engine driving the run acts on it.
type Approvals interface {
	// ApprovalOpen records that a step waits for a decision, unless it
	// does already, and returns the stored approval: a second open, as
	// after a restart, changes nothing and gives back the first one's
	// message, start and deadline. The step must exist (else ErrNotFound).
	ApprovalOpen(ctx context.Context, p *ApprovalOpenParams) (*ApprovalRow, error)
	// ApprovalGet returns the approval of one step; ErrNotFound while the
	// step has none.
	ApprovalGet(ctx context.Context, runID, step string) (*ApprovalRow, error)
	// ApprovalList returns a run's approvals, by step name.
	ApprovalList(ctx context.Context, runID string) ([]*ApprovalRow, error)
	// ApprovalDecide records the decision on a step's approval, once. It
	// is ErrNotFound while the step has no approval (nothing waits for a
	// decision yet), an [*ApprovalClosedError] (an ErrConflict) when it was
	// decided already, its deadline passed or its step ended; then nothing
	// changes. It returns the approval as decided.
	ApprovalDecide(ctx context.Context, p *ApprovalDecideParams) (*ApprovalRow, error)
}

// ApprovalRow is one step's approval.
type ApprovalRow struct {
	RunID   string
	Step    string
	Message string
	// Since is when the step began to wait.
	Since time.Time
	// Deadline is when the wait times out; zero means never.
	Deadline time.Time
	// DecidedAt is zero while nobody has decided.
	DecidedAt time.Time
	Approved  bool
	// DecidedBy names who decided, as the API knows them.
	DecidedBy string
	Reason    string
	// Values become the step's outputs when it is approved.
	Values map[string]string
}

// Decided reports whether someone approved or rejected it.
func (a *ApprovalRow) Decided() bool { return !a.DecidedAt.IsZero() }

// ApprovalOpenParams are the arguments of [Approvals.ApprovalOpen].
type ApprovalOpenParams struct {
	RunID    string
	Step     string
	Message  string
	Since    time.Time
	Deadline time.Time // zero: no timeout
	// Epoch, when not 0, fences the write: it is [ErrFenced], and changes
	// nothing, unless the run's lease epoch is still Epoch.
	Epoch int64
}

// ApprovalDecideParams are the arguments of [Approvals.ApprovalDecide].
type ApprovalDecideParams struct {
	RunID   string
	Step    string
	Approve bool
	By      string
	Reason  string
	// Values are kept only with an approval.
	Values map[string]string
	Now    time.Time
}

// MaxApprovalText bounds an approval's message, who decided and why.
const MaxApprovalText = 4096

// ApprovalClosedError is the refusal of [Approvals.ApprovalDecide]: the
// approval takes no decision any more. It is an [ErrConflict].
type ApprovalClosedError struct {
	// Why says what closed it, e.g. "it was approved by alice at ...".
	Why string
}

func (e *ApprovalClosedError) Error() string { return e.Why }

// Unwrap makes the error an [ErrConflict].
func (e *ApprovalClosedError) Unwrap() error { return ErrConflict }

// CheckApprovalOpen refuses a message that no store can keep alike.
func CheckApprovalOpen(p *ApprovalOpenParams) error {
	if p.Since.IsZero() {
		return errors.New("since is the zero time")
	}
	return checkApprovalText("message", p.Message)
}

// CheckApprovalDecide refuses who and why that no store can keep alike,
// and the zero time.
func CheckApprovalDecide(p *ApprovalDecideParams) error {
	if err := CheckNow(p.Now); err != nil {
		return err
	}
	if err := checkApprovalText("decided by", p.By); err != nil {
		return err
	}
	return checkApprovalText("reason", p.Reason)
}

func checkApprovalText(what, s string) error {
	switch {
	case len(s) > MaxApprovalText:
		return fmt.Errorf("%s is %d bytes; the limit is %d", what, len(s), MaxApprovalText)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return fmt.Errorf("%s is not valid UTF-8 text without NUL bytes", what)
	}
	return nil
}

// ApprovalClosed says why a stored approval takes no decision at now, as
// an [*ApprovalClosedError], or nil when it takes one. stepStatus is its
// step's status.
func ApprovalClosed(a *ApprovalRow, stepStatus StepStatus, now time.Time) error {
	switch {
	case a.Decided():
		verb := "rejected"
		if a.Approved {
			verb = "approved"
		}
		return &ApprovalClosedError{Why: fmt.Sprintf("it was %s by %s at %s", verb, a.DecidedBy, a.DecidedAt.Format(time.RFC3339))}
	case stepStatus.Terminal():
		return &ApprovalClosedError{Why: fmt.Sprintf("the step has ended: it is %s", stepStatus)}
	case !a.Deadline.IsZero() && now.After(a.Deadline):
		return &ApprovalClosedError{Why: fmt.Sprintf("it timed out at %s", a.Deadline.Format(time.RFC3339))}
	}
	return nil
}
