package kubernetes

import (
	"context"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/baton-dev/baton/internal/executor"
)

// Wait implements [executor.Executor]. It works as well for a Job that
// ended long ago, as long as it has not been removed. The exit code,
// OOMKilled and the image's digest come from the step container's status.
// [executor.Result.Output] is nil: outputs arrive through the callback
// (see the package doc).
//
// A pod the cluster took away (evicted, preempted, its node lost) or a Job
// that was deleted is [executor.ErrNotFound], with what the cluster said:
// the attempt is gone and may be retried. A Job that never made its pod
// run (suspended when baton stopped mid-Start, or a pod stuck pending past
// [Options.PendingTimeout]) is [executor.ErrNeverStarted]: the step's
// command never ran.
func (e *Executor) Wait(ctx context.Context, h *executor.Handle) (*executor.Result, error) {
	r, err := parseHandle(h)
	if err != nil {
		return nil, err
	}
	var v verdict
	err = e.observe(ctx, r, func(s *state) (bool, time.Time) {
		v = e.judge(s, time.Now())
		return v.suspended || v.result != nil || v.err != nil, v.recheck
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("kubernetes: wait for job %s: %w", r, err)
	case v.suspended:
		return nil, fmt.Errorf("kubernetes: job %s was never let start: %w", r, executor.ErrNeverStarted)
	case v.err != nil:
		err := e.explain(ctx, r, v.err)
		if pe, ok := asPodError(err); ok && pe.pending {
			return nil, fmt.Errorf("%w: %w", err, executor.ErrNeverStarted)
		}
		return nil, fmt.Errorf("job %s: %w", r, err)
	}
	return v.result, nil
}

// stopDeadline is the activeDeadlineSeconds Stop sets: as short as the API
// allows without being zero, which some versions read as unset.
const stopDeadline = 1

// Stop implements [executor.Executor]. It sets the Job's
// activeDeadlineSeconds so that it is already past: the Job controller
// then fails the Job and deletes its pod, whose container gets SIGTERM and,
// after the pod's grace period ([Options.StopGrace], fixed when the pod
// was made; grace is not used), SIGKILL. The Job stays, so [Executor.Wait]
// still reports the end.
func (e *Executor) Stop(ctx context.Context, h *executor.Handle, grace time.Duration) error {
	r, err := parseHandle(h)
	if err != nil {
		return err
	}
	patch := []byte(`{"spec":{"activeDeadlineSeconds":` + strconv.Itoa(stopDeadline) + `}}`)
	_, err = e.client.BatchV1().Jobs(r.namespace).Patch(ctx, r.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("kubernetes: stop job %s: %w", r, executor.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("kubernetes: stop job %s: %w", r, err)
	}
	return nil
}

// Remove implements [executor.Executor]. The Secret goes first, so the
// step's secrets leave the cluster's store at once; then the Job, with
// foreground propagation, so that it is gone only once its pod is. Remove
// waits for that, as long as ctx allows, so a Remove that returns nil
// leaves nothing behind. Gone already is fine.
func (e *Executor) Remove(ctx context.Context, h *executor.Handle) error {
	r, err := parseHandle(h)
	if err != nil {
		return err
	}
	// The Job owns the Secret, but the cluster collects it only after the
	// Job is gone, and not at all if the reference never reached it.
	err = e.client.CoreV1().Secrets(r.namespace).Delete(ctx, r.name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kubernetes: delete secret %s: %w", r, err)
	}
	jobs := e.client.BatchV1().Jobs(r.namespace)
	err = jobs.Delete(ctx, r.name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubernetes: delete job %s: %w", r, err)
	}
	return e.waitGone(ctx, r)
}

// waitGone waits until the Job r no longer exists.
func (e *Executor) waitGone(ctx context.Context, r ref) error {
	jobs := e.client.BatchV1().Jobs(r.namespace)
	for {
		job, err := jobs.Get(ctx, r.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("kubernetes: delete job %s: %w", r, err)
		}
		w, err := jobs.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", r.name).String(),
			ResourceVersion: job.ResourceVersion,
		})
		if err != nil {
			return fmt.Errorf("kubernetes: delete job %s: wait: %w", r, err)
		}
		gone, err := untilDeleted(ctx, w)
		w.Stop()
		if gone {
			return nil
		}
		if err != nil {
			return fmt.Errorf("kubernetes: delete job %s: wait for its pod to go: %w", r, err)
		}
		// The watch ended or expired: look again.
	}
}

// untilDeleted reads w until it reports a deletion (true), ends (false,
// nil) or ctx ends.
func untilDeleted(ctx context.Context, w watch.Interface) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return true, nil
			case watch.Error:
				if err := apierrors.FromObject(ev.Object); !apierrors.IsGone(err) && !apierrors.IsResourceExpired(err) {
					return false, err
				}
				return false, nil
			}
		}
	}
}

// listOne asks for one item: enough to know that listing works.
var listOne = metav1.ListOptions{Limit: 1}

// ListOwned implements [executor.Lister]: every Job labelled
// [executor.LabelManaged] (and this installation's instance), with the
// run, step and attempt it was made for.
func (e *Executor) ListOwned(ctx context.Context) ([]executor.Owned, error) {
	var owned []executor.Owned
	opts := metav1.ListOptions{LabelSelector: e.ownedSelector()}
	for {
		list, err := e.client.BatchV1().Jobs(e.namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("kubernetes: list jobs in namespace %s: %w", e.namespace, err)
		}
		for _, j := range list.Items {
			o := executor.Owned{
				Handle: e.handle(ref{j.Namespace, j.Name}),
				RunID:  j.Annotations[executor.LabelRun],
				Step:   j.Annotations[executor.LabelStep],
			}
			if o.Attempt, err = strconv.Atoi(j.Annotations[executor.LabelAttempt]); err != nil {
				e.logger.Warn("kubernetes: job without a valid attempt annotation", "job", j.Name,
					"attempt", j.Annotations[executor.LabelAttempt])
			}
			owned = append(owned, o)
		}
		if list.Continue == "" {
			return owned, nil
		}
		opts.Continue = list.Continue
	}
}
