package kubernetes

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/baton-dev/baton/internal/executor"
)

// state is what the cluster says of an attempt: its Job, and the Job's
// pod once the Job controller made one.
type state struct {
	// job is nil once the Job is deleted.
	job *batchv1.Job
	// pods are the Job's pods by name: one, with backoffLimit 0.
	pods map[string]*corev1.Pod
}

// pod is the Job's pod: the newest, if the cluster ever made more.
func (s *state) pod() *corev1.Pod {
	var newest *corev1.Pod
	for _, p := range s.pods {
		if newest == nil || newest.CreationTimestamp.Before(&p.CreationTimestamp) {
			newest = p
		}
	}
	return newest
}

// check judges a state: done ends [Executor.observe]; a non-zero recheck
// asks to be called again then, even if nothing changes (a deadline).
type check func(s *state) (done bool, recheck time.Time)

// observe gets the Job r and its pods, then watches both from the resource
// versions it saw, calling fn after every change until fn is done or ctx
// ends. A watch that the server closes is made again from the last version
// seen; one whose version expired (410 Gone) starts again with a list.
// Nothing here sleeps for a fixed time: it waits on the watches, on ctx,
// and on the deadline fn gives.
func (e *Executor) observe(ctx context.Context, r ref, fn check) error {
	job, err := e.client.BatchV1().Jobs(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("kubernetes: job %s: %w", r, executor.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("kubernetes: get job %s: %w", r, err)
	}
	s := &state{job: job, pods: map[string]*corev1.Pod{}}
	selector := batchv1.ControllerUidLabel + "=" + string(job.UID)
	podsRV, err := e.listPods(ctx, r, selector, s)
	if err != nil {
		return err
	}
	jobRV := job.ResourceVersion
	var jobW, podW watch.Interface
	defer func() {
		for _, w := range []watch.Interface{jobW, podW} {
			if w != nil {
				w.Stop()
			}
		}
	}()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		done, recheck := fn(s)
		if done {
			return nil
		}
		var timerC <-chan time.Time
		if !recheck.IsZero() {
			if timer != nil {
				timer.Stop()
			}
			timer = time.NewTimer(max(time.Until(recheck), 0))
			timerC = timer.C
		}
		if jobW == nil {
			if jobW, err = e.watchJob(ctx, r, jobRV); apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
				if jobRV, err = e.relistJob(ctx, r, s); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
		}
		if podW == nil {
			if podW, err = e.watchPods(ctx, r, selector, podsRV); apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
				if podsRV, err = e.listPods(ctx, r, selector, s); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
		}
	events:
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timerC:
				break events
			case ev, ok := <-jobW.ResultChan():
				if !ok {
					jobW = nil
					break events
				}
				rv, changed, err := s.jobEvent(ev, r.name)
				if err != nil {
					jobW.Stop()
					jobW = nil
					if jobRV, err = e.relistJob(ctx, r, s); err != nil {
						return err
					}
					break events
				}
				if rv != "" {
					jobRV = rv
				}
				if changed {
					break events
				}
			case ev, ok := <-podW.ResultChan():
				if !ok {
					podW = nil
					break events
				}
				rv, changed, err := s.podEvent(ev, string(job.UID))
				if err != nil {
					podW.Stop()
					podW = nil
					if podsRV, err = e.listPods(ctx, r, selector, s); err != nil {
						return err
					}
					break events
				}
				if rv != "" {
					podsRV = rv
				}
				if changed {
					break events
				}
			}
		}
	}
}

// listPods replaces s.pods with the Job's pods and returns the list's
// resource version.
func (e *Executor) listPods(ctx context.Context, r ref, selector string, s *state) (string, error) {
	list, err := e.client.CoreV1().Pods(r.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", fmt.Errorf("kubernetes: list pods of job %s: %w", r, err)
	}
	s.pods = make(map[string]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		s.pods[list.Items[i].Name] = &list.Items[i]
	}
	return list.ResourceVersion, nil
}

// relistJob gets the Job afresh into s and returns its resource version.
func (e *Executor) relistJob(ctx context.Context, r ref, s *state) (string, error) {
	job, err := e.client.BatchV1().Jobs(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.job = nil
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("kubernetes: get job %s: %w", r, err)
	}
	s.job = job
	return job.ResourceVersion, nil
}

func (e *Executor) watchJob(ctx context.Context, r ref, rv string) (watch.Interface, error) {
	w, err := e.client.BatchV1().Jobs(r.namespace).Watch(ctx, metav1.ListOptions{
		FieldSelector:       fields.OneTermEqualSelector("metadata.name", r.name).String(),
		ResourceVersion:     rv,
		AllowWatchBookmarks: true,
	})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: watch job %s: %w", r, err)
	}
	return w, nil
}

func (e *Executor) watchPods(ctx context.Context, r ref, selector, rv string) (watch.Interface, error) {
	w, err := e.client.CoreV1().Pods(r.namespace).Watch(ctx, metav1.ListOptions{
		LabelSelector:       selector,
		ResourceVersion:     rv,
		AllowWatchBookmarks: true,
	})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: watch pods of job %s: %w", r, err)
	}
	return w, nil
}

// jobEvent applies a watch event on the Job to s. It returns the version
// to watch on from, whether s changed, and an error when the watch must
// start again from a fresh read (an expired version, or anything else the
// server reports as an error).
func (s *state) jobEvent(ev watch.Event, name string) (rv string, changed bool, err error) {
	if ev.Type == watch.Error {
		return "", false, apierrors.FromObject(ev.Object)
	}
	job, ok := ev.Object.(*batchv1.Job)
	if !ok {
		return "", false, nil
	}
	if ev.Type == watch.Bookmark {
		return job.ResourceVersion, false, nil
	}
	if job.Name != name {
		return "", false, nil
	}
	if ev.Type == watch.Deleted {
		s.job = nil
	} else {
		s.job = job
	}
	return job.ResourceVersion, true, nil
}

// podEvent is [state.jobEvent] for the Job's pods.
func (s *state) podEvent(ev watch.Event, uid string) (rv string, changed bool, err error) {
	if ev.Type == watch.Error {
		return "", false, apierrors.FromObject(ev.Object)
	}
	pod, ok := ev.Object.(*corev1.Pod)
	if !ok {
		return "", false, nil
	}
	if ev.Type == watch.Bookmark {
		return pod.ResourceVersion, false, nil
	}
	if pod.Labels[batchv1.ControllerUidLabel] != uid {
		return "", false, nil
	}
	if ev.Type == watch.Deleted {
		// The last state stays known: a pod deleted after its container
		// ended still says how it ended.
		if p := s.pods[pod.Name]; p != nil && stepStatus(p) != nil && stepStatus(p).State.Terminated != nil {
			return pod.ResourceVersion, false, nil
		}
		if t := stepStatus(pod); t != nil && t.State.Terminated != nil {
			s.pods[pod.Name] = pod
			return pod.ResourceVersion, true, nil
		}
		delete(s.pods, pod.Name)
	} else {
		s.pods[pod.Name] = pod
	}
	return pod.ResourceVersion, true, nil
}

// stepStatus is the status of the step's container in pod, or nil.
func stepStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == stepContainer {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}
