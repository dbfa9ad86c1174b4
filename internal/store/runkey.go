package store

import "fmt"

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
