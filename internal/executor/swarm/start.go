package swarm

import (
	"context"
	"fmt"
	"maps"
	"path"
	"sort"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"

	"github.com/baton-dev/baton/internal/executor"
)

// Swarm's own log of a task is bounded, as the docker executor bounds a
// container's: baton keeps its own masked copy of what a step prints.
const (
	logDriver   = "json-file"
	logMaxSize  = "16m"
	logMaxFiles = "2"
)

// createTimeout bounds creating the service: a create cut short may still
// create, and its answer is the only way to learn so, so it is not
// canceled with the caller's context, only bounded.
const createTimeout = time.Minute

// Start implements [executor.Executor]. It returns once the service's task
// runs (or has already ended): the swarm places it, its node readies the
// image, and a task that does not run within [Options.ScheduleTimeout]
// fails the start with [ErrNotScheduled]. The task runs
// spec.Command as its arguments, so the image's entrypoint, if any, still
// applies, as spec.User (or the image's user), with the limits,
// capabilities and root file system the spec asks for; see the package
// documentation for the hardening. Secrets and the token are swarm
// secrets, files under [executor.SecretsDir], in neither the task's
// environment nor its configuration.
//
// A spec [Executor.CheckSpec] refuses is refused before anything is made,
// and so is one with a secret swarm cannot hold (empty, or over 500 KiB).
// A Start that fails before the service exists removes what it made, and
// returns a handle only if that fails too; once the service exists, a
// failure returns its handle, for the caller to re-attach to or remove.
func (e *Executor) Start(ctx context.Context, spec *executor.Spec) (*executor.Handle, error) {
	caps, err := e.check(spec)
	if err != nil {
		return nil, err
	}
	name := attemptName(e.instance, spec)
	labels := e.labels(spec, name)
	h := &executor.Handle{Executor: e.Name(), ID: name}
	fail := func(err error) (*executor.Handle, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
		defer cancel()
		if rerr := e.Remove(cctx, h); rerr != nil {
			e.logger.Warn("swarm: remove a failed start", "service", name, "err", rerr)
			return h, err
		}
		return nil, err
	}
	// The same attempt started twice (by a baton that forgot the first
	// start) must not touch the first one's volume, secrets or service.
	if _, _, err := e.cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{}); err == nil {
		return nil, fmt.Errorf("swarm: attempt %d of step %q already has service %s; remove it first", spec.Attempt, spec.Step, name)
	} else if !cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("swarm: look for service %s: %w", name, err)
	}
	p, err := e.place(ctx, spec, name, labels)
	if err != nil {
		return fail(err)
	}
	secrets, err := e.createSecrets(ctx, spec, name, labels)
	if err != nil {
		return fail(err)
	}
	svc := e.serviceSpec(spec, name, labels, p, secrets, caps)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	created, err := e.cli.ServiceCreate(cctx, svc, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		return fail(fmt.Errorf("swarm: create service %s for step %q: %w", name, spec.Step, err))
	}
	for _, w := range created.Warnings {
		e.logger.Warn("swarm: create service", "service", name, "warning", w)
	}
	if err := e.awaitRunning(ctx, h); err != nil {
		return h, err
	}
	e.logger.Debug("swarm: started", "run_id", spec.RunID, "step", spec.Step,
		"attempt", spec.Attempt, "service", name, "nodes", len(p.nodes))
	return h, nil
}

// awaitRunning waits until the attempt's task runs, or has already ended:
// until the manager says so, or the engine of the task's node says its
// container started (see [taskWatch]). The service stays whatever
// happens: a Start cut short by ctx, as when baton shuts down, leaves it
// for the caller to re-attach to or remove.
func (e *Executor) awaitRunning(ctx context.Context, h *executor.Handle) error {
	w := e.watch(h.ID)
	defer w.close()
	for {
		svc, tasks, err := e.state(ctx, h)
		if err != nil {
			return err
		}
		v := judge(svc, tasks, time.Now(), e.scheduleTimeout)
		switch v.outcome {
		case waiting:
			if v.task != nil && rank(v.task.Status.State) >= rank(swarm.TaskStateRunning) {
				return nil
			}
			if c := w.seen(v.task); c != nil && c.started {
				return nil
			}
		case failedToStart:
			return startError(h, v.why)
		case lost:
			e.giveUp(ctx, h, v.why)
			return fmt.Errorf("swarm: service %s: %w: %s", h.ID, ErrTaskLost, v.why)
		case unscheduled:
			e.giveUp(ctx, h, v.why)
			return fmt.Errorf("swarm: service %s: %w: %s", h.ID, ErrNotScheduled, v.why)
		default:
			return nil
		}
		if err := w.next(ctx, svc, v.task); err != nil {
			return fmt.Errorf("swarm: service %s: waiting for its task to run: %w", h.ID, err)
		}
	}
}

// serviceSpec is the attempt's service: one replica that is never
// restarted, kept on the nodes where its output volume was made.
func (e *Executor) serviceSpec(spec *executor.Spec, name string, labels map[string]string, p *placement, secrets []*swarm.SecretReference, caps []string) swarm.ServiceSpec {
	limits := e.limits(spec.Limits)
	mounts := []mount.Mount{{Type: mount.TypeVolume, Source: name, Target: path.Dir(OutputPath)}}
	if spec.ReadOnlyRoot {
		// Scratch space for steps on a read-only root. Swarm mounts it
		// noexec, nosuid and nodev, and API 1.41 cannot say otherwise.
		mounts = append(mounts, mount.Mount{Type: mount.TypeTmpfs, Target: "/tmp", TmpfsOptions: &mount.TmpfsOptions{Mode: 0o1777}})
	}
	if len(secrets) == 0 {
		// Every attempt has its secrets directory, secrets or not.
		mounts = append(mounts, mount.Mount{Type: mount.TypeTmpfs, Target: executor.SecretsDir, ReadOnly: true, TmpfsOptions: &mount.TmpfsOptions{Mode: 0o555}})
	}
	svcLabels := labels
	if p.image != engineRef(spec.Image) {
		svcLabels = cloneWith(labels, labelImage, spec.Image)
	}
	replicas := uint64(1)
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: svcLabels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:          p.image,
				Labels:         labels,
				Args:           spec.Command,
				Env:            envList(spec.Env, spec.Token != ""),
				User:           spec.User,
				ReadOnly:       spec.ReadOnlyRoot,
				Mounts:         mounts,
				Secrets:        secrets,
				CapabilityDrop: []string{"ALL"},
				CapabilityAdd:  caps,
				// Applied by engines of API 1.44 and later only.
				Privileges: &swarm.Privileges{NoNewPrivileges: true},
			},
			Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{
				NanoCPUs:    limits.NanoCPUs,
				MemoryBytes: limits.MemoryBytes,
				Pids:        limits.PIDs,
			}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{Constraints: p.constraints},
			LogDriver: &swarm.Driver{Name: logDriver, Options: map[string]string{
				"max-size": logMaxSize, "max-file": logMaxFiles,
			}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
}

// cloneWith is a copy of m with k set to v.
func cloneWith(m map[string]string, k, v string) map[string]string {
	c := maps.Clone(m)
	if c == nil {
		c = map[string]string{}
	}
	c[k] = v
	return c
}

// limits fills the fields the step leaves zero from the executor's defaults.
func (e *Executor) limits(l executor.Limits) executor.Limits {
	if l.PIDs == 0 {
		l.PIDs = e.defaults.PIDs
	}
	if l.MemoryBytes == 0 {
		l.MemoryBytes = e.defaults.MemoryBytes
	}
	if l.NanoCPUs == 0 {
		l.NanoCPUs = e.defaults.NanoCPUs
	}
	return l
}

// envList is the step's environment in a stable order, so that identical
// specs make identical services, plus the variables only the executor can
// set: where the output file, the secrets and the token file are. The
// spec's own values of those are dropped, and so is any token in it.
func envList(env map[string]string, token bool) []string {
	list := make([]string, 0, len(env)+3)
	for k, v := range env {
		switch k {
		case executor.EnvOutput, executor.EnvSecretsDir, executor.EnvToken, executor.EnvTokenFile:
		default:
			list = append(list, k+"="+v)
		}
	}
	sort.Strings(list)
	list = append(list, executor.EnvOutput+"="+OutputPath, executor.EnvSecretsDir+"="+executor.SecretsDir)
	if token {
		list = append(list, executor.EnvTokenFile+"="+path.Join(executor.SecretsDir, executor.TokenFile))
	}
	return list
}
