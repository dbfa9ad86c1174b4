package kubernetes

import (
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/baton-dev/baton/internal/executor"
)

// exitKilled is the exit code reported for a step the cluster stopped
// (its deadline passed, or baton stopped it) when its container's own
// code went with its pod: 128+SIGKILL, as a shell reports a killed child.
const exitKilled = 137

// verdict is how an attempt stands.
type verdict struct {
	// started: the step's container has run (it may have ended).
	started bool
	// suspended: the Job was never let go, so its pod was never made.
	suspended bool
	// result is set once the step's container ended.
	result *executor.Result
	// err is set when the attempt cannot go on: a *podError.
	err error
	// recheck is when a pending problem becomes an error.
	recheck time.Time
}

// podError is a pod-level failure: what the cluster said, in words the
// step's author can act on. kind is [executor.ErrImageNotFound],
// [executor.ErrUnavailable], [executor.ErrNotFound], [executor.ErrLost] or nil; pending says
// the step's command never ran.
type podError struct {
	msg     string
	kind    error
	pending bool
	// noPod asks for the Job's events, to say why no pod was made.
	noPod bool
}

func (e *podError) Error() string {
	if e.kind != nil {
		return e.msg + " (" + e.kind.Error() + ")"
	}
	return e.msg
}

func (e *podError) Unwrap() error { return e.kind }

// judge says how the attempt in s stands at now. It is pure: everything it
// knows comes from the Job and pod objects.
func (e *Executor) judge(s *state, now time.Time) verdict {
	job := s.job
	if job == nil || job.DeletionTimestamp != nil {
		return verdict{err: &podError{msg: "kubernetes: the job was deleted", kind: executor.ErrNotFound}}
	}
	if job.Spec.Suspend != nil && *job.Spec.Suspend {
		return verdict{suspended: true}
	}
	pod := s.pod()
	if pod == nil {
		return e.judgeNoPod(job, now)
	}
	if err := disrupted(pod); err != nil {
		return verdict{started: true, err: err}
	}
	cs := stepStatus(pod)
	if cs != nil && cs.State.Terminated != nil {
		t := cs.State.Terminated
		if t.Reason == "ContainerStatusUnknown" {
			return verdict{started: true, err: &podError{
				msg:  fmt.Sprintf("kubernetes: the node %s lost the step's container of pod %s, so how it ended is unknown", pod.Spec.NodeName, pod.Name),
				kind: executor.ErrLost,
			}}
		}
		return verdict{started: true, result: &executor.Result{
			ExitCode:    int(t.ExitCode),
			OOMKilled:   t.Reason == "OOMKilled",
			FinishedAt:  orNow(t.FinishedAt, now),
			ImageDigest: cs.ImageID,
		}}
	}
	if err := initFailed(pod, e.opts.HelperImage); err != nil {
		return verdict{err: err}
	}
	switch pod.Status.Phase {
	case corev1.PodFailed:
		return verdict{started: cs != nil && cs.State.Running != nil, err: &podError{
			msg:  fmt.Sprintf("kubernetes: pod %s failed before its step's container ended%s", pod.Name, said(pod.Status.Reason, pod.Status.Message)),
			kind: executor.ErrLost,
		}}
	case corev1.PodSucceeded:
		// A kubelet always reports the container; this is belt and braces.
		return verdict{started: true, result: &executor.Result{FinishedAt: now}}
	}
	if cs != nil && cs.State.Running != nil {
		return verdict{started: true}
	}
	if pod.DeletionTimestamp != nil {
		// Stopped before it started: what is left is its end.
		return verdict{}
	}
	return e.judgePending(pod, now)
}

// judgeNoPod judges a Job without a pod: one the controller has yet to
// make, cannot make, or whose pod went when it ended.
func (e *Executor) judgeNoPod(job *batchv1.Job, now time.Time) verdict {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed:
			if c.Reason == batchv1.JobReasonDeadlineExceeded {
				return verdict{started: true, result: &executor.Result{ExitCode: exitKilled, FinishedAt: orNow(c.LastTransitionTime, now)}}
			}
			return verdict{started: true, err: &podError{
				msg:  fmt.Sprintf("kubernetes: the job failed and its pod is gone%s", said(c.Reason, c.Message)),
				kind: executor.ErrLost,
			}}
		case batchv1.JobComplete:
			at := orNow(c.LastTransitionTime, now)
			if job.Status.CompletionTime != nil {
				at = job.Status.CompletionTime.Time
			}
			return verdict{started: true, result: &executor.Result{FinishedAt: at}}
		}
	}
	since := job.CreationTimestamp.Time
	if job.Status.StartTime != nil {
		since = job.Status.StartTime.Time
	}
	deadline := since.Add(e.opts.PendingTimeout)
	if !now.Before(deadline) {
		return verdict{err: &podError{
			msg:     fmt.Sprintf("kubernetes: the cluster made no pod for the job in %s", e.opts.PendingTimeout),
			pending: true, noPod: true,
		}}
	}
	return verdict{recheck: deadline}
}

// judgePending judges a pod whose step has not started: waiting for a
// node, an image, its volumes or its init container.
func (e *Executor) judgePending(pod *corev1.Pod, now time.Time) verdict {
	deadline := pod.CreationTimestamp.Add(e.opts.PendingTimeout)
	late := !now.Before(deadline)
	// The helper's image is pulled first; its problems are the operator's.
	for _, cs := range pod.Status.InitContainerStatuses {
		if w := cs.State.Waiting; cs.Name == helperContainer && w != nil {
			if err := imageProblem(w, late, fmt.Sprintf("the helper image %q", e.opts.HelperImage), "fix the executor's helper_image"); err != nil {
				return verdict{err: err}
			}
		}
	}
	if cs := stepStatus(pod); cs != nil && cs.State.Waiting != nil {
		if err := imageProblem(cs.State.Waiting, late, fmt.Sprintf("image %q", pod.Spec.Containers[0].Image), "fix the step's image"); err != nil {
			return verdict{err: err}
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			if late {
				return verdict{err: &podError{
					msg:     fmt.Sprintf("kubernetes: pod %s could not be scheduled in %s%s; lower the step's limits or add capacity to the cluster", pod.Name, e.opts.PendingTimeout, said("", c.Message)),
					pending: true,
				}}
			}
			return verdict{recheck: deadline}
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
			return verdict{recheck: deadline}
		}
	}
	for _, cs := range pod.Status.InitContainerStatuses {
		if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
			return verdict{recheck: deadline}
		}
	}
	return verdict{}
}

// imageProblem says what keeps a container waiting, when that is an error
// now: an image that is clearly not there (not worth retrying), one that
// cannot be pulled past the deadline (worth retrying), a container the
// kubelet cannot make.
func imageProblem(w *corev1.ContainerStateWaiting, late bool, what, fix string) error {
	switch w.Reason {
	case "ErrImageNeverPull":
		return &podError{msg: fmt.Sprintf("kubernetes: %s is not on the node and the pull policy is never; pull it there first, or %s", what, fix), kind: executor.ErrImageNotFound, pending: true}
	case "InvalidImageName":
		return &podError{msg: fmt.Sprintf("kubernetes: %s is not a valid image name; %s", what, fix), kind: executor.ErrImageNotFound, pending: true}
	case "ErrImagePull", "ImagePullBackOff":
		if clearlyNotFound(w.Message) {
			return &podError{msg: fmt.Sprintf("kubernetes: %s does not exist%s; %s", what, said("", w.Message), fix), kind: executor.ErrImageNotFound, pending: true}
		}
		if late {
			return &podError{msg: fmt.Sprintf("kubernetes: %s could not be pulled%s", what, said(w.Reason, w.Message)), kind: executor.ErrUnavailable, pending: true}
		}
	case "CreateContainerConfigError", "CreateContainerError":
		return &podError{msg: fmt.Sprintf("kubernetes: the node could not create the container of %s%s", what, said(w.Reason, w.Message)), pending: true}
	}
	return nil
}

// clearlyNotFound reports whether a pull error says the image does not
// exist, rather than that the registry failed or refused access, which
// may pass.
func clearlyNotFound(msg string) bool {
	m := strings.ToLower(msg)
	if strings.Contains(m, "unauthorized") || strings.Contains(m, "denied") || strings.Contains(m, "authoriz") {
		return false
	}
	for _, s := range []string{"manifest unknown", "code = notfound", ": not found", "name unknown", "repository does not exist"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// disrupted reports a pod the cluster took away from the step: evicted by
// its node, preempted, deleted for a taint or by the eviction API.
func disrupted(pod *corev1.Pod) error {
	if pod.Status.Reason == "Evicted" {
		return &podError{msg: fmt.Sprintf("kubernetes: pod %s was evicted from node %s%s", pod.Name, pod.Spec.NodeName, said("", pod.Status.Message)), kind: executor.ErrLost}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return &podError{msg: fmt.Sprintf("kubernetes: the cluster took pod %s away%s", pod.Name, said(c.Reason, c.Message)), kind: executor.ErrLost}
		}
	}
	return nil
}

// initFailed reports a helper init container that ended badly.
func initFailed(pod *corev1.Pod, image string) error {
	for _, cs := range pod.Status.InitContainerStatuses {
		if t := cs.State.Terminated; cs.Name == helperContainer && t != nil && t.ExitCode != 0 {
			return &podError{
				msg:     fmt.Sprintf("kubernetes: the helper init container of pod %s exited with code %d%s; check that the helper image %q holds baton at its helper path", pod.Name, t.ExitCode, said(t.Reason, ""), image),
				pending: true,
			}
		}
	}
	return nil
}

// orNow is t, or now when the cluster left it unset.
func orNow(t metav1.Time, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.Time
}

// said is ": reason: message" of what the cluster said, when it said it.
func said(reason, message string) string {
	var parts []string
	for _, p := range []string{reason, message} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ": ")
}

// asPodError returns err as a *podError, if it is one.
func asPodError(err error) (*podError, bool) {
	var pe *podError
	ok := errors.As(err, &pe)
	return pe, ok
}
