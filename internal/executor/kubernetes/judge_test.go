package kubernetes

import (
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/baton-dev/baton/internal/executor"
)

var judgeNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func testJob() *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "baton-x", UID: "job-uid", CreationTimestamp: metav1.NewTime(judgeNow.Add(-time.Minute))},
		Spec:       batchv1.JobSpec{Suspend: ptr.To(false)},
	}
}

// testPod is the Job's pod, made at judgeNow minus age.
func testPod(age time.Duration, edit func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "baton-x-abcde", CreationTimestamp: metav1.NewTime(judgeNow.Add(-age))},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: stepContainer, Image: "example/step:1"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	if edit != nil {
		edit(p)
	}
	return p
}

func waiting(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: stepContainer, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
	}
}

func terminated(code int32, reason string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: stepContainer, ImageID: "docker.io/example/step@sha256:abc",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, FinishedAt: metav1.NewTime(judgeNow)}},
		}}
	}
}

// TestFakeJudge covers what the cluster reports that kwok cannot make
// happen: evictions, OOM kills, lost nodes, a failed helper, and the
// pending problems, each against the objects a real cluster would send.
func TestFakeJudge(t *testing.T) {
	t.Parallel()
	e := newTestExecutor(t, Options{PendingTimeout: 5 * time.Minute, HelperImage: "example/baton-helper:1"})
	for _, tc := range []struct {
		name    string
		job     func(*batchv1.Job)
		pod     *corev1.Pod
		started bool
		exit    int  // -1: no result
		oom     bool //
		kind    error
		pending bool
		says    string
		recheck bool
	}{
		{name: "Exit0", pod: testPod(time.Minute, terminated(0, "Completed")), started: true, exit: 0},
		{name: "Exit3", pod: testPod(time.Minute, terminated(3, "Error")), started: true, exit: 3},
		{name: "OOMKilled", pod: testPod(time.Minute, terminated(137, "OOMKilled")), started: true, exit: 137, oom: true},
		{name: "Running", pod: testPod(time.Minute, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: stepContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}), started: true, exit: -1},
		{name: "Evicted", pod: testPod(time.Minute, func(p *corev1.Pod) {
			terminated(137, "Error")(p)
			p.Status.Reason, p.Status.Message = "Evicted", "The node was low on resource: memory."
		}), started: true, exit: -1, kind: executor.ErrLost, says: "evicted from node node-1: The node was low on resource: memory."},
		{name: "Preempted", pod: testPod(time.Minute, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "PreemptionByScheduler", Message: "preempted by a higher priority pod"}}
		}), started: true, exit: -1, kind: executor.ErrLost, says: "PreemptionByScheduler"},
		{name: "NodeLost", pod: testPod(time.Minute, terminated(137, "ContainerStatusUnknown")), started: true, exit: -1, kind: executor.ErrLost, says: "lost the step's container"},
		{name: "PodFailedNoStatus", pod: testPod(time.Minute, func(p *corev1.Pod) {
			p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "NodeShutdown", "the node shut down"
		}), exit: -1, kind: executor.ErrLost, says: "NodeShutdown: the node shut down"},
		{name: "HelperFailed", pod: testPod(time.Minute, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: helperContainer, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 127, Reason: "StartError"}}}}
		}), exit: -1, pending: true, says: "helper image \"example/baton-helper:1\""},
		{name: "ImageNotFound", pod: testPod(time.Second, waiting("ErrImagePull", `rpc error: code = NotFound desc = failed to pull and unpack image "example/step:1": not found`)),
			exit: -1, kind: executor.ErrImageNotFound, pending: true, says: `image "example/step:1" does not exist`},
		{name: "ManifestUnknown", pod: testPod(time.Second, waiting("ImagePullBackOff", `Back-off pulling image: manifest unknown`)),
			exit: -1, kind: executor.ErrImageNotFound, pending: true},
		{name: "NeverPull", pod: testPod(time.Second, waiting("ErrImageNeverPull", "not present")), exit: -1, kind: executor.ErrImageNotFound, pending: true, says: "pull policy is never"},
		{name: "InvalidName", pod: testPod(time.Second, waiting("InvalidImageName", "bad")), exit: -1, kind: executor.ErrImageNotFound, pending: true},
		{name: "PullFailingEarly", pod: testPod(time.Second, waiting("ErrImagePull", "dial tcp: i/o timeout")), exit: -1, recheck: true},
		{name: "PullFailingLate", pod: testPod(6*time.Minute, waiting("ImagePullBackOff", "dial tcp: i/o timeout")), exit: -1, kind: executor.ErrUnavailable, pending: true, says: "could not be pulled: ImagePullBackOff: dial tcp: i/o timeout"},
		{name: "DeniedIsNotNotFound", pod: testPod(6*time.Minute, waiting("ErrImagePull", "pull access denied, repository does not exist or may require authorization")), exit: -1, kind: executor.ErrUnavailable, pending: true},
		{name: "HelperImageNotFound", pod: testPod(time.Second, func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: helperContainer, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "manifest unknown"}}}}
		}), exit: -1, kind: executor.ErrImageNotFound, pending: true, says: "helper_image"},
		{name: "ConfigError", pod: testPod(time.Second, waiting("CreateContainerConfigError", "container has runAsNonRoot and image will run as root")), exit: -1, pending: true, says: "runAsNonRoot"},
		{name: "Creating", pod: testPod(time.Hour, waiting("ContainerCreating", "")), exit: -1},
		{name: "UnschedulableEarly", pod: testPod(time.Second, func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available"}}
		}), exit: -1, recheck: true},
		{name: "UnschedulableLate", pod: testPod(6*time.Minute, func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient cpu."}}
		}), exit: -1, pending: true, says: "could not be scheduled in 5m0s: 0/3 nodes are available: 3 Insufficient cpu."},
		{name: "Suspended", job: func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }, exit: -1},
		{name: "Deleted", job: func(j *batchv1.Job) { j.DeletionTimestamp = ptr.To(metav1.NewTime(judgeNow)) }, exit: -1, kind: executor.ErrNotFound},
		{name: "DeadlineNoPod", job: func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonDeadlineExceeded}}
		}, started: true, exit: exitKilled},
		{name: "FailedNoPod", job: func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}
		}, started: true, exit: -1, kind: executor.ErrLost, says: "BackoffLimitExceeded"},
		{name: "NoPodYet", exit: -1, recheck: true},
		{name: "NoPodEver", job: func(j *batchv1.Job) { j.Status.StartTime = ptr.To(metav1.NewTime(judgeNow.Add(-10 * time.Minute))) }, exit: -1, pending: true, says: "made no pod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := testJob()
			if tc.job != nil {
				tc.job(job)
			}
			s := &state{job: job, pods: map[string]*corev1.Pod{}}
			if tc.pod != nil {
				s.pods[tc.pod.Name] = tc.pod
			}
			v := e.judge(s, judgeNow)
			if v.started != tc.started {
				t.Errorf("started = %v, want %v", v.started, tc.started)
			}
			if tc.name == "Suspended" && !v.suspended {
				t.Error("suspended = false")
			}
			switch {
			case tc.exit < 0 && v.result != nil:
				t.Errorf("result = %+v, want none", v.result)
			case tc.exit >= 0 && v.result == nil:
				t.Errorf("no result, want exit %d (err %v)", tc.exit, v.err)
			case tc.exit >= 0 && (v.result.ExitCode != tc.exit || v.result.OOMKilled != tc.oom):
				t.Errorf("result = %+v, want exit %d oom %v", v.result, tc.exit, tc.oom)
			}
			wantErr := tc.kind != nil || tc.pending || tc.says != ""
			if wantErr != (v.err != nil) {
				t.Fatalf("err = %v, want an error: %v", v.err, wantErr)
			}
			if v.err != nil {
				pe, _ := asPodError(v.err)
				if tc.kind != nil && !errors.Is(v.err, tc.kind) || tc.kind == nil && pe.kind != nil {
					t.Errorf("err = %v, want kind %v", v.err, tc.kind)
				}
				if pe.pending != tc.pending {
					t.Errorf("pending = %v, want %v", pe.pending, tc.pending)
				}
				if !strings.Contains(v.err.Error(), tc.says) {
					t.Errorf("err = %q, want it to say %q", v.err, tc.says)
				}
			}
			if tc.recheck != !v.recheck.IsZero() {
				t.Errorf("recheck = %v, want one: %v", v.recheck, tc.recheck)
			}
			if v.result != nil && v.result.FinishedAt.IsZero() {
				t.Error("result without a finish time")
			}
		})
	}
}
