package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
)

// FollowLogs implements [executor.LogFollower]. It waits for the task to
// have a container, then reads that container's log through its node's
// engine, from the start, until the container exits. The swarm's own
// service logs cannot say when a task's output has ended: measured on
// 20.10, a followed service log stays open after its only task completed,
// waiting for tasks that never come. A task that ends without ever having
// a container printed nothing. The container is known from the manager,
// or sooner from the events of the task's node (see [taskWatch]).
func (e *Executor) FollowLogs(ctx context.Context, h *executor.Handle, fn func(executor.LogLine)) error {
	w := e.watch(h.ID)
	defer w.close()
	for {
		svc, tasks, err := e.state(ctx, h)
		if err != nil {
			return err
		}
		t := firstTask(tasks)
		if t != nil && t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ContainerID != "" {
			w.close()
			return e.followContainer(ctx, h, t.NodeID, t.Status.ContainerStatus.ContainerID, fn)
		}
		if c := w.seen(t); c != nil {
			w.close()
			return e.followContainer(ctx, h, t.NodeID, c.id, fn)
		}
		v := judge(svc, tasks, time.Now(), e.scheduleTimeout)
		if v.outcome != waiting || svc.Spec.Labels[labelLost] != "" {
			return nil
		}
		if err := w.next(ctx, svc, t); err != nil {
			return err
		}
	}
}

func (e *Executor) followContainer(ctx context.Context, h *executor.Handle, node, cid string, fn func(executor.LogLine)) error {
	cli := e.nodes.engine(ctx, node)
	if cli == nil {
		return fmt.Errorf("swarm: logs of service %s: the task runs on node %s, whose Docker API baton does not reach; list it in the swarm executor's nodes", h.ID, node)
	}
	rc, err := cli.ContainerLogs(ctx, cid, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     true,
		Timestamps: true,
	})
	if err != nil {
		return wrap("logs of", h, err)
	}
	defer rc.Close()
	// The stream ends when ctx does, whatever the transport does.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	err = docker.ReadLogStream(rc, fn)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("swarm: logs of service %s: %w", h.ID, err)
	}
	return nil
}
