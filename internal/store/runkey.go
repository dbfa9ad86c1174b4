package store

import (
	"errors"
	"fmt"
)

// RunKeyExistsError is the refusal of [Store.RunCreate] when a run with
// the same [RunCreateParams.Key] exists: the event that key names started
// Run already. It is an [ErrExists]; Run is never nil.
type RunKeyExistsError struct {
	Key string
	Run *RunRow
}

func (e *RunKeyExistsError) Error() string {
	return fmt.Sprintf("run %s was created with key %q already", e.Run.ID, e.Key)
}

// Unwrap makes the error an [ErrExists].
func (e *RunKeyExistsError) Unwrap() error { return ErrExists }

// RunKeyHolder is the run of the [*RunKeyExistsError] in err's chain: what
// [Store.RunCreate] returns beside that error. It is nil when err is
// another error.
func RunKeyHolder(err error) *RunRow {
	var taken *RunKeyExistsError
	if errors.As(err, &taken) {
		return taken.Run
	}
	return nil
}
