// Package noop is an executor whose steps do nothing and succeed at once. It
// measures baton's own orchestration overhead in benchmarks; it is not meant
// for real pipelines.
package noop

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

// Executor starts nothing: every attempt exits 0 with no output.
type Executor struct {
	next atomic.Int64
}

var _ executor.Executor = (*Executor)(nil)

// New returns a no-op executor.
func New() *Executor { return &Executor{} }

// Name implements [executor.Executor].
func (*Executor) Name() string { return "noop" }

// Start implements [executor.Executor].
func (e *Executor) Start(context.Context, *executor.Spec) (*executor.Handle, error) {
	return &executor.Handle{Executor: "noop", ID: strconv.FormatInt(e.next.Add(1), 10)}, nil
}

// Wait implements [executor.Executor]; every attempt has already exited 0.
func (*Executor) Wait(context.Context, *executor.Handle) (*executor.Result, error) {
	return &executor.Result{FinishedAt: time.Now()}, nil
}

// Stop implements [executor.Executor].
func (*Executor) Stop(context.Context, *executor.Handle, time.Duration) error { return nil }

// Remove implements [executor.Executor].
func (*Executor) Remove(context.Context, *executor.Handle) error { return nil }
