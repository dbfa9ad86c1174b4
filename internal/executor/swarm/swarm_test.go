package swarm_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/executortest"
	batonswarm "github.com/baton-dev/baton/internal/executor/swarm"
	"github.com/baton-dev/baton/internal/executor/swarm/swarmtest"
)

// instance keeps these tests' attempts apart from anything else on the
// swarm.
const instance = "baton-swarm-test"

// newExecutor returns an executor on the test swarm, with every node's
// engine, changed by opts.
func newExecutor(t *testing.T, s *swarmtest.Swarm, opts ...func(*batonswarm.Options)) *batonswarm.Executor {
	t.Helper()
	o := batonswarm.Options{Host: s.Hosts[0], Nodes: s.Hosts[1:], Instance: instance}
	for _, f := range opts {
		f(&o)
	}
	e, err := batonswarm.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestConformance(t *testing.T) {
	s := swarmtest.New(t)
	image := s.Busybox(t)
	executortest.Run(t, func(t *testing.T) executor.Executor { return newExecutor(t, s) }, image)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func runID(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "test-" + hex.EncodeToString(b[:])
}

func spec(t *testing.T, run, image string, command ...string) *executor.Spec {
	return &executor.Spec{
		RunID:   run,
		Step:    t.Name(),
		Attempt: 1,
		Image:   image,
		Command: command,
		Pull:    executor.PullNever,
	}
}

// start starts sp and removes it when the test ends.
func start(t *testing.T, e *batonswarm.Executor, sp *executor.Spec) *executor.Handle {
	t.Helper()
	h, err := e.Start(ctx(t), sp)
	if h != nil {
		t.Cleanup(func() {
			c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := e.Remove(c, h); err != nil {
				t.Errorf("Remove: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return h
}

// run starts sp, waits for it and returns the result.
func run(t *testing.T, e *batonswarm.Executor, sp *executor.Spec) (*executor.Handle, *executor.Result) {
	t.Helper()
	h := start(t, e, sp)
	r, err := e.Wait(ctx(t), h)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return h, r
}

// task is the one task of the attempt's service.
func task(t *testing.T, s *swarmtest.Swarm, h *executor.Handle) swarm.Task {
	t.Helper()
	tasks, err := s.Manager.TaskList(ctx(t), swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", h.ID))})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 {
		t.Fatalf("service %s has %d tasks, want 1", h.ID, len(tasks))
	}
	return tasks[0]
}
