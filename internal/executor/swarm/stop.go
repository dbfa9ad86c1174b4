package swarm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor"
)

// Stop implements [executor.Executor]. A running task (as the manager
// says, or its node, which knows first) is stopped through its node's
// engine: the image's stop signal (SIGTERM by default), then
// SIGKILL after grace, rounded up to whole seconds; the swarm then records
// the exit as for any other. A task not running yet (or on a node whose
// engine does not answer) is stopped by scaling its service to zero, so
// that it never starts, or is stopped by the swarm after its own grace
// period; Wait then reports [executor.ErrNeverStarted] if it never ran.
func (e *Executor) Stop(ctx context.Context, h *executor.Handle, grace time.Duration) error {
	_, tasks, err := e.state(ctx, h)
	if err != nil {
		return err
	}
	if t := firstTask(tasks); t != nil {
		if rank(t.Status.State) > rank(swarm.TaskStateRunning) {
			return nil // already over
		}
		if cli := e.taskNode(ctx, t); cli != nil {
			if cid := runningContainer(ctx, cli, t); cid != "" {
				secs := int(math.Ceil(grace.Seconds()))
				err := cli.ContainerStop(ctx, cid, container.StopOptions{Timeout: &secs})
				if err == nil {
					return nil
				}
				if ctx.Err() != nil {
					return fmt.Errorf("swarm: stop service %s: %w", h.ID, ctx.Err())
				}
				e.logger.Warn("swarm: stop the task's container; scaling its service down instead",
					"service", h.ID, "node", t.NodeID, "err", err)
			}
		}
	}
	return e.scaleDown(ctx, h, labelStopped, "true")
}

// taskNode is the engine of the node t is assigned to, nil if none is or
// its engine does not answer.
func (e *Executor) taskNode(ctx context.Context, t *swarm.Task) *client.Client {
	if t.NodeID == "" {
		return nil
	}
	return e.nodes.engine(ctx, t.NodeID)
}

// runningContainer is the ID of task t's container if it runs, or "":
// the manager's word when it says the task runs, else its node's, which
// knows first (Start returns as soon as the node has started it).
func runningContainer(ctx context.Context, cli *client.Client, t *swarm.Task) string {
	if t.Status.State == swarm.TaskStateRunning && t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ContainerID != "" {
		return t.Status.ContainerStatus.ContainerID
	}
	cs, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", taskLabel+"="+t.ID),
		filters.Arg("status", "running"),
	)})
	if err != nil || len(cs) != 1 {
		return ""
	}
	return cs[0].ID
}

// firstTask is the attempt's task: the service's first (see [judge]).
func firstTask(tasks []swarm.Task) *swarm.Task {
	if len(tasks) == 0 {
		return nil
	}
	t := slices.MinFunc(tasks, func(a, b swarm.Task) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return &t
}

// Remove implements [executor.Executor]: the service goes first, so the
// swarm makes nothing more of it, then the task's container and the output
// volume on every node (the container is killed if it still runs), then the
// secrets, even if a node's engine failed. What is already gone is skipped, so a Remove that fails half
// way, or one of an attempt whose Start failed half way, can be repeated.
func (e *Executor) Remove(ctx context.Context, h *executor.Handle) error {
	if err := e.cli.ServiceRemove(ctx, h.ID); err != nil && !cerrdefs.IsNotFound(err) {
		return wrap("remove", h, err)
	}
	engines := e.nodes.all(ctx)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for id, cli := range engines {
		wg.Go(func() {
			if err := removeOnNode(ctx, cli, h.ID); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("node %s: %w", id, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// The secrets go even when a node failed: they are what matters most.
	if err := e.removeSecrets(ctx, h.ID); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("swarm: remove service %s: %w", h.ID, err)
	}
	return nil
}

// removeOnNode removes an attempt's containers (its task's, and any left by
// preparing its output volume) and its output volume from one node.
func removeOnNode(ctx context.Context, cli *client.Client, name string) error {
	cs, err := cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", labelName+"="+name)),
	})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs {
		err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) && !removing(err) {
			return fmt.Errorf("remove container %s: %w", c.ID, err)
		}
	}
	// The node's own agent may be removing the task's container at the same
	// time; the volume is in use until it is gone.
	delay := firstPoll
	for try := 0; ; try++ {
		err := cli.VolumeRemove(ctx, name, false)
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		if !cerrdefs.IsConflict(err) || try == 20 {
			return fmt.Errorf("remove output volume: %w", err)
		}
		if err := sleep(ctx, delay); err != nil {
			return fmt.Errorf("remove output volume: %w", err)
		}
		delay = min(delay*2, maxPoll)
	}
}

// removing says the engine is already removing the container.
func removing(err error) bool {
	return cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress")
}
