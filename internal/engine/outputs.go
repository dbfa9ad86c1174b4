package engine

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/failpoint"
	"github.com/baton-dev/baton/internal/mask"
	"github.com/baton-dev/baton/internal/store"
)

// Callback errors, for the API to map to status codes.
var (
	// ErrUnauthorized: the token does not belong to the attempt.
	ErrUnauthorized = errors.New("token does not match the attempt")
	// ErrStale: the attempt has ended or was superseded.
	ErrStale = errors.New("attempt is no longer running")
)

// CheckAttempt authenticates a step's call with its attempt token: an
// unknown attempt or a wrong token is [ErrUnauthorized], an attempt that ended
// is [ErrStale].
func (e *Engine) CheckAttempt(ctx context.Context, runID, step string, attempt int, token string) error {
	_, err := e.checkAttempt(ctx, runID, step, attempt, token)
	return err
}

func (e *Engine) checkAttempt(ctx context.Context, runID, step string, attempt int, token string) (*store.AttemptRow, error) {
	a, err := e.st.AttemptGet(ctx, runID, step, attempt)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthorized // say nothing of which attempts exist
	}
	if err != nil {
		return nil, fmt.Errorf("engine: attempt %d of step %q of run %s: %w", attempt, step, runID, err)
	}
	if subtle.ConstantTimeCompare(hashToken(token), a.TokenHash) != 1 {
		return nil, ErrUnauthorized
	}
	if a.Status != store.StepRunning {
		return nil, fmt.Errorf("engine: attempt %d of step %q is %s: %w", attempt, step, a.Status, ErrStale)
	}
	return a, nil
}

// PostOutputs takes outputs a running attempt posts through the callback. They
// are kept with the attempt and join the run's variables only if the step
// succeeds. Reserved names and values carrying a secret are [ErrInvalid].
func (e *Engine) PostOutputs(ctx context.Context, runID, step string, attempt int, token string, outputs map[string]string) error {
	a, err := e.checkAttempt(ctx, runID, step, attempt, token)
	if err != nil {
		return err
	}
	masker, err := e.attemptMasker(a)
	if err != nil {
		return fmt.Errorf("engine: attempt %d of step %q: its outputs cannot be checked for secrets: %w", attempt, step, err)
	}
	run, err := e.st.RunGet(ctx, runID)
	if err != nil {
		return fmt.Errorf("engine: run %s: %w", runID, err)
	}
	spec, _, err := e.Spec(ctx, run.Pipeline, run.Revision)
	if err != nil {
		return err
	}
	if err := checkOutputs(outputs, spec.EnvPrefix, masker); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	merged := maps.Clone(a.Outputs)
	if merged == nil {
		merged = make(map[string]string, len(outputs))
	}
	maps.Copy(merged, outputs)
	if err := contract.CheckTotal(merged); err != nil {
		return err
	}
	err = e.st.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: runID, Name: step, Attempt: attempt, Outputs: outputs})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("engine: attempt %d of step %q: %w", attempt, step, ErrStale)
	}
	if err == nil {
		e.posted.Store(attemptKey{runID, step, attempt}, true)
		failpoint.Hit(failpoint.CallbackCommitted)
	}
	return err
}

// attemptKey names one attempt.
type attemptKey struct {
	run     string
	step    string
	attempt int
}

// collectOutputs merges what an attempt posted through the callback with its
// output file, the file winning, and checks the limits. It returns an error
// message a person can act on.
//
// readPosted says the attempt may have posted outputs, which are then read
// from the store.
func (r *runner) collectOutputs(step string, attempt int, file []byte, readPosted bool) (map[string]string, string) {
	outputs := make(map[string]string)
	if readPosted {
		a, err := r.e.st.AttemptGet(context.WithoutCancel(r.ctx), r.run.ID, step, attempt)
		if err != nil {
			return nil, fmt.Sprintf("read posted outputs: %v", err)
		}
		maps.Copy(outputs, a.Outputs)
	}
	if len(file) > 0 {
		parsed, err := contract.ParseOutputFile(file)
		if err != nil {
			return nil, err.Error()
		}
		maps.Copy(outputs, parsed)
	}
	if err := contract.CheckTotal(outputs); err != nil {
		return nil, err.Error()
	}
	m, _ := r.e.maskers.Load(attemptKey{r.run.ID, step, attempt})
	masker, _ := m.(*mask.Masker)
	if err := checkOutputs(outputs, r.spec.EnvPrefix, masker); err != nil {
		return nil, err.Error()
	}
	return outputs, ""
}
