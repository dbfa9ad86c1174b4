package docker

import "context"

// TmpfsOutputs lets the tests see which way attempts get their output file.
func (e *Executor) TmpfsOutputs(ctx context.Context) bool { return e.tmpfsOutputs(ctx) }
