package swarm

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor"
)

// ErrTaskLost is returned by Wait when the swarm ended an attempt's task
// without baton asking (its node was drained, went down or left), or ran
// it where its output cannot be read. The command may have run, in part:
// the attempt failed, and is worth retrying.
var ErrTaskLost = fmt.Errorf("task lost: %w", executor.ErrLost)

// ErrNotScheduled is returned by Wait when an attempt's task did not start
// running within [Options.ScheduleTimeout]: no node fits its constraints
// or limits, or its image could not be made ready.
var ErrNotScheduled = fmt.Errorf("task not scheduled in time: %w", executor.ErrLost)

// Wait implements [executor.Executor]. It works as well for an attempt that
// ended long ago, as long as it has not been removed. A task the swarm
// ended on its own, or that never ran in time, is given up on: its service
// is scaled to zero, so that nothing of it runs later, and every later
// Wait gives the same error.
//
// It learns that the task's container exited from the events of its
// node's engine, as it happens (see [taskWatch]), and reads the result
// from that engine then, without waiting for the manager to hear.
func (e *Executor) Wait(ctx context.Context, h *executor.Handle) (*executor.Result, error) {
	w := e.watch(h.ID)
	defer w.close()
	for {
		svc, tasks, err := e.state(ctx, h)
		if err != nil {
			return nil, err
		}
		if why := svc.Spec.Labels[labelLost]; why != "" {
			return nil, fmt.Errorf("swarm: service %s: %w: %s", h.ID, ErrTaskLost, why)
		}
		v := judge(svc, tasks, time.Now(), e.scheduleTimeout)
		switch v.outcome {
		case waiting:
			if c := w.seen(v.task); c != nil && c.died {
				if r, err := e.exitedEarly(ctx, h, svc, v.task, c.id); r != nil || err != nil {
					return r, err
				}
			}
		case exited:
			return e.result(ctx, h, svc, v.task)
		case neverStarted:
			return nil, fmt.Errorf("swarm: service %s: %w", h.ID, executor.ErrNeverStarted)
		case failedToStart:
			return nil, startError(h, v.why)
		case lost:
			e.giveUp(ctx, h, v.why)
			return nil, fmt.Errorf("swarm: service %s: %w: %s", h.ID, ErrTaskLost, v.why)
		case unscheduled:
			e.giveUp(ctx, h, v.why)
			return nil, fmt.Errorf("swarm: service %s: %w: %s", h.ID, ErrNotScheduled, v.why)
		}
		if err := w.next(ctx, svc, v.task); err != nil {
			return nil, err
		}
	}
}

// exitedEarly reads the result of a task whose container its node's
// engine says died while the manager still has the task waiting or
// running (the manager hears some 100 ms later). A container whose
// command started and has exited ends the attempt whatever the manager
// says next: the task is never restarted, and had the swarm been ending
// it (a drained node), the manager would have said so first. A container
// that never started returns nil, nil: the manager's word says why.
func (e *Executor) exitedEarly(ctx context.Context, h *executor.Handle, svc swarm.Service, t *swarm.Task, cid string) (*executor.Result, error) {
	cli := e.nodes.engine(ctx, t.NodeID)
	if cli == nil {
		return nil, nil
	}
	info, err := cli.ContainerInspect(ctx, cid)
	if err != nil || info.State == nil || info.State.Running || !everStarted(info.State) {
		return nil, nil
	}
	tc := *t
	tc.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: cid}
	return e.resultOf(ctx, h, svc, &tc, cli, info)
}

// everStarted says whether a container's command was ever started.
func everStarted(st *container.State) bool {
	started, err := time.Parse(time.RFC3339Nano, st.StartedAt)
	return err == nil && !started.IsZero() && started.Year() > 1
}

// startError is the error of a task the swarm could not start; a missing
// image is [executor.ErrImageNotFound].
func startError(h *executor.Handle, why string) error {
	if strings.Contains(strings.ToLower(why), "no such image") {
		return fmt.Errorf("swarm: service %s: %w: %s", h.ID, executor.ErrImageNotFound, why)
	}
	return fmt.Errorf("swarm: service %s: %s", h.ID, why)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// state is the attempt's service and its tasks.
func (e *Executor) state(ctx context.Context, h *executor.Handle) (swarm.Service, []swarm.Task, error) {
	svc, _, err := e.cli.ServiceInspectWithRaw(ctx, h.ID, swarm.ServiceInspectOptions{})
	if err != nil {
		return svc, nil, wrap("inspect", h, err)
	}
	tasks, err := e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return svc, nil, wrap("list tasks of", h, err)
	}
	return svc, tasks, nil
}

// result reads how the task's container ended, and its output file, from
// the engine of the node that ran it.
func (e *Executor) result(ctx context.Context, h *executor.Handle, svc swarm.Service, t *swarm.Task) (*executor.Result, error) {
	cli, err := e.taskEngine(ctx, h, t)
	if err != nil {
		return nil, err
	}
	cid := t.Status.ContainerStatus.ContainerID
	info, err := cli.ContainerInspect(ctx, cid)
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("swarm: service %s: the task's container %s is gone from node %s: %w", h.ID, cid, t.NodeID, executor.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("swarm: service %s: inspect container %s on node %s: %w", h.ID, cid, t.NodeID, err)
	}
	return e.resultOf(ctx, h, svc, t, cli, info)
}

// resultOf reads the result of the exited container info of task t from
// its node's engine cli.
func (e *Executor) resultOf(ctx context.Context, h *executor.Handle, svc swarm.Service, t *swarm.Task, cli *client.Client, info container.InspectResponse) (*executor.Result, error) {
	cid := t.Status.ContainerStatus.ContainerID
	if info.State == nil || !everStarted(info.State) {
		return nil, fmt.Errorf("swarm: service %s: %w", h.ID, executor.ErrNeverStarted)
	}
	var err error
	r := &executor.Result{ExitCode: info.State.ExitCode, OOMKilled: info.State.OOMKilled}
	if r.FinishedAt, err = time.Parse(time.RFC3339Nano, info.State.FinishedAt); err != nil {
		return nil, fmt.Errorf("swarm: service %s: finished at %q: %w", h.ID, info.State.FinishedAt, err)
	}
	if err := e.checkVolume(ctx, cli, h, t); err != nil {
		return nil, err
	}
	if r.Output, r.OutputError, err = readOutput(ctx, cli, cid); err != nil {
		return nil, fmt.Errorf("swarm: service %s: %w", h.ID, err)
	}
	ref := svc.Spec.Labels[labelImage]
	if ref == "" && svc.Spec.TaskTemplate.ContainerSpec != nil {
		ref = svc.Spec.TaskTemplate.ContainerSpec.Image
	}
	r.ImageDigest = imageDigest(ctx, cli, info.Image, ref)
	return r, nil
}

// taskEngine is the engine of the node that ran t.
func (e *Executor) taskEngine(ctx context.Context, h *executor.Handle, t *swarm.Task) (*client.Client, error) {
	cli := e.nodes.engine(ctx, t.NodeID)
	if cli == nil {
		return nil, fmt.Errorf("swarm: service %s: %w: the task ran on node %s, whose Docker API baton does not reach, so its exit state and output file cannot be read; list the node's Docker API in the swarm executor's nodes",
			h.ID, ErrTaskLost, t.NodeID)
	}
	return cli, nil
}

// checkVolume makes sure the task's /baton is the volume baton made, not
// one the node made afresh because it joined the swarm after the attempt
// was placed: there the step had no output file to write, and reading
// nothing would lose its outputs silently.
func (e *Executor) checkVolume(ctx context.Context, cli *client.Client, h *executor.Handle, t *swarm.Task) error {
	vol, err := cli.VolumeInspect(ctx, h.ID)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("swarm: service %s: inspect output volume on node %s: %w", h.ID, t.NodeID, err)
	}
	if err != nil || vol.Labels[labelName] != h.ID {
		return fmt.Errorf("swarm: service %s: %w: the task ran on node %s, where baton had not prepared its output file, so its outputs cannot be read", h.ID, ErrTaskLost, t.NodeID)
	}
	return nil
}

// imageDigest names the image a container ran by content: the registry's
// digest (repo@sha256:…) when the engine knows one, preferably for the
// repository the step named, else the image ID.
func imageDigest(ctx context.Context, cli *client.Client, id, ref string) string {
	img, err := cli.ImageInspect(ctx, id)
	if err != nil || len(img.RepoDigests) == 0 {
		return id
	}
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		for _, d := range img.RepoDigests {
			if dn, err := reference.ParseNormalizedNamed(d); err == nil && dn.Name() == named.Name() {
				return d
			}
		}
	}
	return img.RepoDigests[0]
}

// giveUp scales the service of a task baton gave up on to zero, so that
// nothing of it runs later, and records why on the service.
func (e *Executor) giveUp(ctx context.Context, h *executor.Handle, why string) {
	if len(why) > 500 {
		why = why[:500]
	}
	if err := e.scaleDown(ctx, h, labelLost, why); err != nil {
		e.logger.Warn("swarm: scale down a lost attempt", "service", h.ID, "err", err)
	}
}

// scaleDown sets the service's replicas to zero and its label key to
// value, retrying when someone else updated it in between.
func (e *Executor) scaleDown(ctx context.Context, h *executor.Handle, key, value string) error {
	var err error
	for range 5 {
		var svc swarm.Service
		svc, _, err = e.cli.ServiceInspectWithRaw(ctx, h.ID, swarm.ServiceInspectOptions{})
		if err != nil {
			return wrap("inspect", h, err)
		}
		spec := svc.Spec
		zero := uint64(0)
		spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &zero}
		spec.Labels = cloneWith(spec.Labels, key, value)
		var resp swarm.ServiceUpdateResponse
		resp, err = e.cli.ServiceUpdate(ctx, svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{})
		if err == nil {
			for _, w := range resp.Warnings {
				e.logger.Warn("swarm: update service", "service", h.ID, "warning", w)
			}
			return nil
		}
		if !strings.Contains(err.Error(), "out of sequence") {
			break
		}
	}
	return wrap("scale down", h, err)
}

// wrap maps the swarm's "no such service" to [executor.ErrNotFound].
func wrap(op string, h *executor.Handle, err error) error {
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("swarm: %s service %s: %w (%v)", op, h.ID, executor.ErrNotFound, err)
	}
	return fmt.Errorf("swarm: %s service %s: %w", op, h.ID, err)
}
