package kubernetes

// Tests with client-go's fake clientset, for what the test control plane
// cannot make happen (an eviction, an OOM kill, a watch that expires, a
// failure half-way through Start) or where kwok's logs fall short (two
// streams). Named TestFake* so they are not taken for tests of a cluster.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/baton-dev/baton/internal/executor"
)

// fakeJobController stands in for the Job controller: when a Job is let
// go, it makes the Job's pod, edited by pod.
func fakeJobController(t *testing.T, cs *fake.Clientset, pod func(*corev1.Pod)) {
	cs.PrependReactor("patch", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchAction)
		if string(pa.GetPatch()) != string(resume) {
			return false, nil, nil
		}
		obj, err := cs.Tracker().Get(batchv1.SchemeGroupVersion.WithResource("jobs"), pa.GetNamespace(), pa.GetName())
		if err != nil {
			t.Errorf("let go of a job that is not there: %v", err)
			return false, nil, nil
		}
		job := obj.(*batchv1.Job)
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: job.Name + "-pod", Namespace: job.Namespace,
				Labels:            map[string]string{batchv1.ControllerUidLabel: string(job.UID)},
				CreationTimestamp: metav1.Now(),
			},
			Spec: job.Spec.Template.Spec,
		}
		pod(p)
		if err := cs.Tracker().Add(p); err != nil {
			t.Error(err)
		}
		return false, nil, nil
	})
	// The fake assigns no UIDs; the cluster does.
	cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		job := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		job.UID = types.UID("uid-" + job.Name)
		return false, nil, nil
	})
}

func running(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: stepContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

// TestFakeStartOrder: the Job is made suspended, then its Secret, owned by
// it, then the Job is let go; no pod exists before its Secret.
func TestFakeStartOrder(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	fakeJobController(t, cs, running)
	e := newTestExecutor(t, Options{Client: cs})
	spec := testSpec()
	spec.Secrets = map[string][]byte{"db.password": []byte("hunter2")}
	h, err := e.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if h.Executor != "kubernetes" || !strings.HasPrefix(h.ID, "baton-jobs/baton-") {
		t.Errorf("handle = %+v", h)
	}
	var writes []string
	for _, a := range cs.Actions() {
		switch a.GetVerb() {
		case "create", "patch", "delete", "update":
			writes = append(writes, a.GetVerb()+" "+a.GetResource().Resource)
		}
		if c, ok := a.(k8stesting.CreateAction); ok {
			switch o := c.GetObject().(type) {
			case *batchv1.Job:
				if !*o.Spec.Suspend {
					t.Error("the job was made running, before its secret")
				}
			case *corev1.Secret:
				if len(o.OwnerReferences) != 1 || o.OwnerReferences[0].UID == "" || o.OwnerReferences[0].Name != o.Name {
					t.Errorf("secret owner references = %+v, want its job", o.OwnerReferences)
				}
				if string(o.Data["db.password"]) != "hunter2" || string(o.Data[executor.TokenFile]) != spec.Token {
					t.Errorf("secret data = %q", o.Data)
				}
			}
		}
	}
	if want := []string{"create jobs", "create secrets", "patch jobs"}; strings.Join(writes, ", ") != strings.Join(want, ", ") {
		t.Errorf("writes = %q, want %q", writes, want)
	}
}

// TestFakeStartFailsHalfWay: a Secret that cannot be made still leaves a
// handle, and Remove takes the Job away.
func TestFakeStartFailsHalfWay(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	cs.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("secrets"), "x", errors.New("quota"))
	})
	e := newTestExecutor(t, Options{Client: cs})
	h, err := e.Start(t.Context(), testSpec())
	if err == nil || h == nil {
		t.Fatalf("Start = %v, %v; want a handle and an error", h, err)
	}
	if err := e.Remove(t.Context(), h); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	jobs, _ := cs.BatchV1().Jobs("baton-jobs").List(t.Context(), metav1.ListOptions{})
	if len(jobs.Items) != 0 {
		t.Errorf("%d jobs left after Remove", len(jobs.Items))
	}
}

// TestFakeStartImageNotFound: a pod whose image does not exist fails the
// start, not worth retrying, and the handle is there to remove the rest.
func TestFakeStartImageNotFound(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	fakeJobController(t, cs, waiting("ErrImagePull", "rpc error: code = NotFound desc = not found"))
	e := newTestExecutor(t, Options{Client: cs})
	h, err := e.Start(t.Context(), testSpec())
	if h == nil || !errors.Is(err, executor.ErrImageNotFound) {
		t.Fatalf("Start = %v, %v; want a handle and ErrImageNotFound", h, err)
	}
	if _, err := e.Wait(t.Context(), h); !errors.Is(err, executor.ErrNeverStarted) || !errors.Is(err, executor.ErrImageNotFound) {
		t.Errorf("Wait: err = %v, want ErrNeverStarted and ErrImageNotFound", err)
	}
}

// addAttempt puts a Job and its pod in the fake, as the cluster would
// have them.
func addAttempt(t *testing.T, cs *fake.Clientset, pod func(*corev1.Pod)) *executor.Handle {
	t.Helper()
	job := testJob()
	job.Namespace = "baton-jobs"
	if err := cs.Tracker().Add(job); err != nil {
		t.Fatal(err)
	}
	p := testPod(time.Minute, pod)
	p.Namespace, p.Labels = "baton-jobs", map[string]string{batchv1.ControllerUidLabel: string(job.UID)}
	if err := cs.Tracker().Add(p); err != nil {
		t.Fatal(err)
	}
	// Another job's pod, which must not be taken for this one's.
	other := testPod(time.Second, terminated(99, "Error"))
	other.Name, other.Namespace, other.Labels = "other", "baton-jobs", map[string]string{batchv1.ControllerUidLabel: "other-uid"}
	if err := cs.Tracker().Add(other); err != nil {
		t.Fatal(err)
	}
	return &executor.Handle{Executor: "kubernetes", ID: "baton-jobs/" + job.Name}
}

func TestFakeWaitOOMKilled(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	h := addAttempt(t, cs, terminated(137, "OOMKilled"))
	r, err := newTestExecutor(t, Options{Client: cs}).Wait(t.Context(), h)
	if err != nil || r.ExitCode != 137 || !r.OOMKilled || r.ImageDigest != "docker.io/example/step@sha256:abc" {
		t.Errorf("Wait = %+v, %v; want 137, OOMKilled, the image's digest", r, err)
	}
}

func TestFakeWaitEvicted(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	h := addAttempt(t, cs, func(p *corev1.Pod) {
		p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", "The node was low on resource: ephemeral-storage."
	})
	_, err := newTestExecutor(t, Options{Client: cs}).Wait(t.Context(), h)
	if !errors.Is(err, executor.ErrLost) || errors.Is(err, executor.ErrNeverStarted) || !strings.Contains(err.Error(), "evicted") || !strings.Contains(err.Error(), "ephemeral-storage") {
		t.Errorf("Wait: err = %v, want an eviction, as ErrLost, saying why", err)
	}
}

// TestFakeWatchReconnect: a watch the server ends is made again, and one
// whose version expired (410) starts over with a list; the end is seen
// either way.
func TestFakeWatchReconnect(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	h := addAttempt(t, cs, running)
	watchers := make(chan *watch.FakeWatcher, 10)
	calls := 0
	cs.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		calls++
		w := watch.NewFake()
		if calls == 1 {
			w.Stop() // the server ends the first watch at once
		} else {
			watchers <- w
		}
		return true, w, nil
	})
	cs.PrependWatchReactor("jobs", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, watch.NewFake(), nil
	})
	e := newTestExecutor(t, Options{Client: cs})
	type waited struct {
		r   *executor.Result
		err error
	}
	done := make(chan waited, 1)
	go func() {
		r, err := e.Wait(t.Context(), h)
		done <- waited{r, err}
	}()
	w := <-watchers
	// The pod ends while the watch is expired: only a fresh list sees it.
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	obj, err := cs.Tracker().Get(pods, "baton-jobs", "baton-x-abcde")
	if err != nil {
		t.Fatal(err)
	}
	pod := obj.(*corev1.Pod).DeepCopy()
	terminated(5, "Error")(pod)
	if err := cs.Tracker().Update(pods, pod, "baton-jobs"); err != nil {
		t.Fatal(err)
	}
	w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
	select {
	case got := <-done:
		if got.err != nil || got.r.ExitCode != 5 {
			t.Errorf("Wait = %+v, %v; want exit 5", got.r, got.err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Wait did not see the end after the watch expired")
	}
}

// TestFakeFollowLogsStreams: with split streams, stdout and stderr are
// asked for apart and reported as such.
func TestFakeFollowLogsStreams(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset()
	h := addAttempt(t, cs, terminated(0, "Completed"))
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ga, ok := a.(k8stesting.GenericAction)
		if !ok || a.GetSubresource() != "log" {
			return false, nil, nil
		}
		opts := ga.GetValue().(*corev1.PodLogOptions)
		if opts.Container != stepContainer || !opts.Timestamps || opts.Follow {
			t.Errorf("log options = %+v, want the step's container, timestamps, no follow for an ended container", opts)
		}
		stream := "all"
		if opts.Stream != nil {
			stream = strings.ToLower(*opts.Stream)
		}
		return true, &runtime.Unknown{Raw: fmt.Appendf(nil, "2026-01-01T00:00:00.000000001Z %s line\n", stream)}, nil
	})
	for _, tc := range []struct {
		split bool
		want  []string
	}{
		{false, []string{"stdout:all line"}},
		{true, []string{"stderr:stderr line", "stdout:stdout line"}},
	} {
		e := newTestExecutor(t, Options{Client: cs, SplitLogStreams: tc.split})
		var got []string
		err := e.FollowLogs(t.Context(), h, func(l executor.LogLine) {
			if !l.Time.Equal(time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC)) {
				t.Errorf("line time = %v", l.Time)
			}
			got = append(got, l.Stream+":"+l.Text)
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("split %v: lines = %q, want %q", tc.split, got, tc.want)
		}
	}
}
