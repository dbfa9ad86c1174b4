package kubernetes

// Tests against the real API server of .ci/kube-up; see cluster_test.go
// for what kwok plays and what it cannot.

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/baton-dev/baton/internal/executor"
)

func TestKubeExitCodes(t *testing.T) {
	t.Parallel()
	e := newClusterExecutor(t, Options{})
	for _, code := range []int{0, 3} {
		h := start(t, e, kwokSpec(t, strconv.Itoa(code), "1s"))
		r, err := e.Wait(testContext(t), h)
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if r.ExitCode != code || r.OOMKilled || r.FinishedAt.IsZero() || r.Output != nil {
			t.Errorf("result = %+v, want exit code %d, a finish time, no OOM, no output", r, code)
		}
		// Waiting again for an ended attempt gives the same answer.
		again, err := e.Wait(testContext(t), h)
		if err != nil || again.ExitCode != r.ExitCode || !again.FinishedAt.Equal(r.FinishedAt) {
			t.Errorf("second Wait = %+v, %v; want %+v", again, err, r)
		}
	}
}

// TestKubeObjects checks what the API server kept of the objects Start
// made: validation and admission accepted them as baton built them.
func TestKubeObjects(t *testing.T) {
	t.Parallel()
	c := testCluster(t)
	e := newClusterExecutor(t, Options{StopGrace: 7 * time.Second, ImagePullSecrets: []string{"regcred"}})
	spec := kwokSpec(t, "0", "30s")
	spec.User = "1000:1000"
	spec.ReadOnlyRoot = true
	spec.Limits = executor.Limits{MemoryBytes: 256 << 20, NanoCPUs: 25e7}
	spec.Env["DOLLARS"] = "$(BATON_KWOK_EXIT_CODE) $$"
	h := start(t, e, spec)
	ctx := testContext(t)
	r, _ := parseHandle(h)
	job, err := c.admin.BatchV1().Jobs(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *job.Spec.BackoffLimit != 0 || *job.Spec.Suspend || job.Spec.TTLSecondsAfterFinished == nil {
		t.Errorf("job: backoffLimit %d, suspend %v, ttl %v; want 0, let go, set", *job.Spec.BackoffLimit, *job.Spec.Suspend, job.Spec.TTLSecondsAfterFinished)
	}
	sec, err := c.admin.CoreV1().Secrets(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != job.UID || sec.OwnerReferences[0].Kind != "Job" {
		t.Errorf("secret owner references = %+v, want the job %s", sec.OwnerReferences, job.UID)
	}
	if string(sec.Data[executor.TokenFile]) != spec.Token || string(sec.Data["api.key"]) != "hunter2-\x00\xff" || !*sec.Immutable {
		t.Errorf("secret data = %q, want the token and the secret, byte for byte, immutable", sec.Data)
	}
	pods, err := c.admin.CoreV1().Pods(r.namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.ControllerUidLabel + "=" + string(job.UID)})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of the job: %v, %v; want one", pods, err)
	}
	pod := pods.Items[0]
	ps := pod.Spec
	if *ps.TerminationGracePeriodSeconds != 7 || *ps.AutomountServiceAccountToken || !*ps.SecurityContext.RunAsNonRoot ||
		*ps.SecurityContext.RunAsUser != 1000 || ps.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod spec kept = %+v", ps)
	}
	step := ps.Containers[0]
	if !*step.SecurityContext.ReadOnlyRootFilesystem || *step.SecurityContext.AllowPrivilegeEscalation ||
		!slices.Equal(step.SecurityContext.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("step security context kept = %+v", step.SecurityContext)
	}
	if got := step.Resources.Limits[corev1.ResourceMemory]; got.Value() != 256<<20 {
		t.Errorf("memory limit kept = %s", got.String())
	}
	for _, ev := range step.Env {
		if strings.Contains(ev.Value, spec.Token) {
			t.Errorf("the token is in the pod's environment (%s)", ev.Name)
		}
		if ev.Name == "DOLLARS" && ev.Value != "$$(BATON_KWOK_EXIT_CODE) $$$$" {
			t.Errorf("DOLLARS = %q, want every $ doubled", ev.Value)
		}
	}
	if pod.Labels[executor.LabelRun] != spec.RunID || pod.Labels[executor.LabelInstance] != e.opts.Instance {
		t.Errorf("pod labels = %v, want baton's", pod.Labels)
	}
}

// TestKubeRBACScope: the manifest's account can do nothing outside its
// namespace.
func TestKubeRBACScope(t *testing.T) {
	t.Parallel()
	e := newClusterExecutor(t, Options{})
	if err := e.Ping(testContext(t)); err != nil {
		t.Fatalf("Ping in %s: %v", testNamespace, err)
	}
	_, err := e.client.BatchV1().Jobs("default").List(testContext(t), listOne)
	if !apierrors.IsForbidden(err) {
		t.Errorf("list jobs in default as baton: err = %v, want forbidden", err)
	}
	_, err = e.client.CoreV1().Secrets(testNamespace).List(testContext(t), listOne)
	if !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as baton: err = %v, want forbidden (baton reads only its own, by name)", err)
	}
}

func TestKubeRemove(t *testing.T) {
	t.Parallel()
	e := newClusterExecutor(t, Options{})
	ctx := testContext(t)
	h, err := e.Start(ctx, kwokSpec(t, "0", "10m"))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	for i := range 2 {
		if err := e.Remove(ctx, h); err != nil {
			t.Fatalf("Remove #%d: %v", i+1, err)
		}
	}
	if _, err := e.Wait(ctx, h); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Wait after Remove: err = %v, want ErrNotFound", err)
	}
	if err := e.Stop(ctx, h, time.Second); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Stop after Remove: err = %v, want ErrNotFound", err)
	}
	if err := e.FollowLogs(ctx, h, func(executor.LogLine) {}); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("FollowLogs after Remove: err = %v, want ErrNotFound", err)
	}
}

// TestKubeStop: the Job's deadline moved into the past makes the Job
// controller stop the pod; Wait reports the end. kwok deletes a stopped
// pod at once, so its container's own code is never seen: 137 stands in.
func TestKubeStop(t *testing.T) {
	t.Parallel()
	e := newClusterExecutor(t, Options{})
	h := start(t, e, kwokSpec(t, "0", "10m"))
	ctx := testContext(t)
	if err := e.Stop(ctx, h, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r, err := e.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait after Stop: %v", err)
	}
	if r.ExitCode != exitKilled {
		t.Errorf("ExitCode after Stop = %d, want %d", r.ExitCode, exitKilled)
	}
}

func TestKubeImagePull(t *testing.T) {
	t.Parallel()
	e := newClusterExecutor(t, Options{PendingTimeout: 3 * time.Second})
	for _, tc := range []struct {
		name, reason, message string
		want                  error
	}{
		{"NotFound", "ErrImagePull", `rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nope:1": not found`, executor.ErrImageNotFound},
		{"NeverPull", "ErrImageNeverPull", `Container image "nope:1" is not present with pull policy of Never`, executor.ErrImageNotFound},
		{"RegistryDown", "ImagePullBackOff", `Back-off pulling image "registry.example/x:1": dial tcp: lookup registry.example: i/o timeout`, executor.ErrUnavailable},
		{"Denied", "ErrImagePull", `pull access denied, repository does not exist or may require authorization`, executor.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := kwokSpec(t, "0", "1s")
			spec.Env["BATON_KWOK_WAITING_REASON"] = tc.reason
			spec.Env["BATON_KWOK_WAITING_MESSAGE"] = tc.message
			ctx := testContext(t)
			h, err := e.Start(ctx, spec)
			if h == nil {
				t.Fatalf("Start returned no handle for what it made (err %v)", err)
			}
			defer func() {
				if err := e.Remove(testContext(t), h); err != nil {
					t.Errorf("Remove: %v", err)
				}
			}()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Start: err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "busybox:kwok") {
				t.Errorf("Start: err = %v, want it to name the image", err)
			}
			// A restarted baton that finds the attempt learns its command
			// never ran.
			if _, err := e.Wait(ctx, h); !errors.Is(err, executor.ErrNeverStarted) {
				t.Errorf("Wait: err = %v, want ErrNeverStarted", err)
			}
		})
	}
}

func TestKubeUnschedulable(t *testing.T) {
	t.Parallel()
	e := newClusterExecutor(t, Options{PendingTimeout: 3 * time.Second})
	spec := kwokSpec(t, "0", "1s")
	spec.Limits.MemoryBytes = 1 << 40 // more than any kwok node has
	h, err := e.Start(testContext(t), spec)
	if h != nil {
		defer func() {
			if err := e.Remove(testContext(t), h); err != nil {
				t.Errorf("Remove: %v", err)
			}
		}()
	}
	if err == nil || !strings.Contains(err.Error(), "could not be scheduled") || !strings.Contains(err.Error(), "Insufficient memory") {
		t.Errorf("Start: err = %v, want it to say the pod could not be scheduled, and why", err)
	}
}

// TestKubeNeverLetGo: a Job made but never let go, as when baton stopped
// between making it and its Secret, never ran its command.
func TestKubeNeverLetGo(t *testing.T) {
	t.Parallel()
	c := testCluster(t)
	e := newClusterExecutor(t, Options{})
	spec := kwokSpec(t, "0", "1s")
	job, err := e.job(spec, jobName(spec))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	if _, err := c.admin.BatchV1().Jobs(testNamespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h := e.handle(ref{testNamespace, job.Name})
	if _, err := e.Wait(ctx, h); !errors.Is(err, executor.ErrNeverStarted) {
		t.Errorf("Wait: err = %v, want ErrNeverStarted", err)
	}
	owned, err := e.ListOwned(ctx)
	if err != nil || len(owned) != 1 || owned[0].Handle.ID != h.ID {
		t.Errorf("ListOwned = %+v, %v; want the job", owned, err)
	}
	if err := e.Remove(ctx, h); err != nil {
		t.Errorf("Remove: %v", err)
	}
}

func TestKubeListOwned(t *testing.T) {
	t.Parallel()
	e := newClusterExecutor(t, Options{})
	other := newClusterExecutor(t, Options{})
	a := kwokSpec(t, "0", "10m")
	b := kwokSpec(t, "0", "10m")
	b.Step, b.Attempt = "ends-in-dash-", 7 // not a valid label value
	ha, hb := start(t, e, a), start(t, e, b)
	start(t, other, kwokSpec(t, "0", "10m"))
	owned, err := e.ListOwned(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]executor.Owned{}
	for _, o := range owned {
		got[o.Handle.ID] = o
	}
	if len(got) != 2 {
		t.Fatalf("ListOwned = %+v, want this instance's two jobs", owned)
	}
	for _, tc := range []struct {
		h    *executor.Handle
		spec *executor.Spec
	}{{ha, a}, {hb, b}} {
		o := got[tc.h.ID]
		if o.RunID != tc.spec.RunID || o.Step != tc.spec.Step || o.Attempt != tc.spec.Attempt || o.Handle.Executor != e.Name() {
			t.Errorf("owned %s = %+v, want run %s step %s attempt %d", tc.h.ID, o, tc.spec.RunID, tc.spec.Step, tc.spec.Attempt)
		}
	}
}

// TestKubeSecretGoesWithJob: the cluster removes the Secret with its Job
// even when baton does not: the owner reference works.
func TestKubeSecretGoesWithJob(t *testing.T) {
	t.Parallel()
	c := testCluster(t)
	e := newClusterExecutor(t, Options{})
	h, err := e.Start(testContext(t), kwokSpec(t, "0", "10m"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := parseHandle(h)
	ctx := testContext(t)
	if err := c.admin.BatchV1().Jobs(r.namespace).Delete(ctx, r.name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	// checkNothingLeft, at the end of the test, waits for the collector.
}

// TestKubeTTL: a finished Job baton never removes is removed by the
// cluster after the TTL, with its Secret.
func TestKubeTTL(t *testing.T) {
	t.Parallel()
	e := newClusterExecutor(t, Options{TTL: time.Second})
	h, err := e.Start(testContext(t), kwokSpec(t, "0", "1s"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Wait(testContext(t), h); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	// checkNothingLeft waits for the TTL controller and the collector.
}
