package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/failpoint"
)

// resume lets a suspended Job make its pod.
var resume = []byte(`{"spec":{"suspend":false}}`)

// Start implements [executor.Executor]. It makes the attempt's Job
// suspended, then the Secret with the attempt's secrets and token, owned by
// the Job, then lets the Job go: so no pod ever waits for its Secret, and
// a Secret never outlives its Job. It returns once the step's container is
// running (or already ended), so that what keeps a pod from starting (an
// image that cannot be pulled, a pod that cannot be scheduled) is a
// failure to start: [executor.ErrImageNotFound] for an image that is not
// there, [executor.ErrUnavailable] for one whose pulls keep failing.
//
// A spec [Executor.CheckSpec] refuses is refused before anything is made.
// Every call carries ctx; a pod that stays pending without a problem the
// cluster names waits as long as ctx allows.
func (e *Executor) Start(ctx context.Context, spec *executor.Spec) (*executor.Handle, error) {
	if err := e.CheckSpec(spec); err != nil {
		return nil, err
	}
	name := jobName(spec)
	job, err := e.job(spec, name)
	if err != nil {
		return nil, err // CheckSpec would have refused it
	}
	r := ref{e.namespace, name}
	created, err := e.client.BatchV1().Jobs(e.namespace).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: create job %s: %w", r, err)
	}
	h := e.handle(r)
	failpoint.Hit(failpoint.ContainerCreated)
	if _, err := e.client.CoreV1().Secrets(e.namespace).Create(ctx, secret(spec, created), metav1.CreateOptions{}); err != nil {
		return h, fmt.Errorf("kubernetes: create secret %s: %w", r, err)
	}
	if _, err := e.client.BatchV1().Jobs(e.namespace).Patch(ctx, name, types.MergePatchType, resume, metav1.PatchOptions{}); err != nil {
		return h, fmt.Errorf("kubernetes: start job %s: %w", r, err)
	}
	e.logger.Debug("kubernetes: job created", "run_id", spec.RunID, "step", spec.Step, "attempt", spec.Attempt, "job", r.String())
	var v verdict
	err = e.observe(ctx, r, func(s *state) (bool, time.Time) {
		v = e.judge(s, time.Now())
		return v.started || v.result != nil || v.err != nil, v.recheck
	})
	if err != nil {
		return h, fmt.Errorf("kubernetes: wait for job %s to start: %w", r, err)
	}
	if v.err != nil {
		return h, e.explain(ctx, r, v.err)
	}
	return h, nil
}

// CheckSpec implements [executor.Checker]. It refuses every spec Start
// would refuse before making anything: one with no image or no command
// (the command runs under baton's wrapper, so the image's own is never
// used), a user that is not a numeric uid[:gid] other than root, secret
// names a Secret cannot hold, a pull policy or capability baton does not
// know. It does so by building the attempt's Job as Start does, so the
// two cannot drift apart.
func (e *Executor) CheckSpec(spec *executor.Spec) error {
	if spec.Image == "" {
		return fmt.Errorf("kubernetes: %w: step %q has no image; add image: to the step", executor.ErrImageNotFound, spec.Step)
	}
	if len(spec.Command) == 0 {
		return fmt.Errorf("kubernetes: step %q has no command; under Kubernetes the command runs under baton's wrapper, so the image's own entrypoint and command are not used; add command: to the step", spec.Step)
	}
	if err := checkSecretNames(spec.Secrets); err != nil {
		return err
	}
	_, err := e.job(spec, checkName)
	return err
}

// checkName names the Job CheckSpec builds and throws away.
const checkName = "baton-check"

// explain adds to a failure to make a pod the last warning the cluster
// gave about the Job (a quota, an admission policy that refused the pod).
func (e *Executor) explain(ctx context.Context, r ref, err error) error {
	var pe *podError
	if !errors.As(err, &pe) || !pe.noPod {
		return err
	}
	list, lerr := e.client.CoreV1().Events(r.namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.kind": "Job", "involvedObject.name": r.name}.AsSelector().String(),
	})
	if lerr != nil {
		return err
	}
	var last *corev1.Event
	for i := range list.Items {
		ev := &list.Items[i]
		if ev.Type == corev1.EventTypeWarning && (last == nil || eventTime(last).Before(eventTime(ev))) {
			last = ev
		}
	}
	if last == nil {
		return err
	}
	return &podError{msg: pe.msg + said(last.Reason, last.Message), kind: pe.kind, pending: pe.pending}
}

func eventTime(ev *corev1.Event) time.Time {
	if !ev.LastTimestamp.IsZero() {
		return ev.LastTimestamp.Time
	}
	if !ev.EventTime.IsZero() {
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}
