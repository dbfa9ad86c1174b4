package kubernetes

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/baton-dev/baton/internal/executor"
)

// newTestExecutor is an executor on a fake clientset, for what needs no
// cluster: the objects it would send.
func newTestExecutor(t *testing.T, opts Options) *Executor {
	t.Helper()
	if opts.Client == nil {
		opts.Client = fake.NewClientset()
	}
	if opts.Namespace == "" {
		opts.Namespace = "baton-jobs"
	}
	if opts.HelperImage == "" {
		opts.HelperImage = "registry.example/baton:test"
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testSpec() *executor.Spec {
	return &executor.Spec{
		RunID: "20260101t000000-0a1b2c3d", Step: "build", Attempt: 2,
		Image:   "busybox:1.36",
		Command: []string{"sh", "-c", `echo "$(HOME) $$ ${X}" > "$BATON_OUTPUT"`},
		Env: map[string]string{
			"B":                    "two $(A) $$",
			"A":                    "one",
			executor.EnvOutput:     "/from/the/spec",
			executor.EnvSecretsDir: "/from/the/spec",
			executor.EnvToken:      "leaked-token",
			executor.EnvTokenFile:  "/from/the/spec",
			"BATON_CALLBACK_URL":   "http://baton.example/api/v1/callbacks/r/s/2",
		},
		Token: "token-value-9f2e",
	}
}

func TestJobNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, spec := range []*executor.Spec{
		{RunID: "20260101t000000-0a1b2c3d", Step: "build", Attempt: 1},
		{RunID: "R", Step: "Under_Score.dots--and--", Attempt: 12},
		{RunID: strings.Repeat("long", 40), Step: strings.Repeat("x", 63), Attempt: 3},
		{RunID: "___", Step: "...", Attempt: 0},
		{RunID: "a", Step: "b-", Attempt: 1},
		{RunID: "20261201t101010-0a1b2c3d", Step: "deploy.12", Attempt: 2}, // a fan-out instance
	} {
		for range 3 {
			name := jobName(spec)
			if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
				t.Errorf("jobName(%q, %q) = %q: %v", spec.RunID, spec.Step, name, errs)
			}
			if seen[name] {
				t.Errorf("jobName(%q, %q) = %q twice", spec.RunID, spec.Step, name)
			}
			seen[name] = true
		}
	}
	if name := jobName(&executor.Spec{RunID: "run", Step: "build", Attempt: 1}); !strings.HasPrefix(name, "baton-run-build-1-") {
		t.Errorf("jobName = %q, want it to start baton-run-build-1-", name)
	}
}

func TestJobHardened(t *testing.T) {
	t.Parallel()
	e := newTestExecutor(t, Options{ImagePullSecrets: []string{"regcred"}})
	spec := testSpec()
	spec.User = "1000:2000"
	spec.ReadOnlyRoot = true
	spec.CapAdd = []string{"net_bind_service", "CAP_CHOWN"}
	spec.Pull = executor.PullNever
	job, err := e.job(spec, "baton-x")
	if err != nil {
		t.Fatal(err)
	}
	js := job.Spec
	if *js.BackoffLimit != 0 || !*js.Suspend || *js.TTLSecondsAfterFinished != int32(DefaultTTL.Seconds()) || js.ActiveDeadlineSeconds != nil {
		t.Errorf("job spec: backoffLimit %d, suspend %v, ttl %d, deadline %v; want 0, true, %d, none",
			*js.BackoffLimit, *js.Suspend, *js.TTLSecondsAfterFinished, js.ActiveDeadlineSeconds, int(DefaultTTL.Seconds()))
	}
	ps := js.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever || *ps.AutomountServiceAccountToken || *ps.EnableServiceLinks {
		t.Errorf("pod: restart %s, automount %v, service links %v; want Never, false, false",
			ps.RestartPolicy, *ps.AutomountServiceAccountToken, *ps.EnableServiceLinks)
	}
	if ps.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
		!*ps.SecurityContext.RunAsNonRoot || *ps.SecurityContext.RunAsUser != 1000 || *ps.SecurityContext.RunAsGroup != 2000 {
		t.Errorf("pod security context = %+v, want RuntimeDefault seccomp, non-root 1000:2000", ps.SecurityContext)
	}
	if len(ps.ImagePullSecrets) != 1 || ps.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("image pull secrets = %v, want regcred", ps.ImagePullSecrets)
	}
	for _, c := range append(ps.InitContainers, ps.Containers...) {
		sc := c.SecurityContext
		if *sc.Privileged || *sc.AllowPrivilegeEscalation || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: security context %+v, want unprivileged, no escalation, ALL dropped, read-only root", c.Name, sc)
		}
	}
	step := ps.Containers[0]
	if !slices.Equal(step.SecurityContext.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE", "CHOWN"}) {
		t.Errorf("cap add = %v, want NET_BIND_SERVICE, CHOWN", step.SecurityContext.Capabilities.Add)
	}
	if len(ps.InitContainers[0].SecurityContext.Capabilities.Add) != 0 {
		t.Error("the helper init container got capabilities back")
	}
	if step.ImagePullPolicy != corev1.PullNever || step.Image != "busybox:1.36" {
		t.Errorf("step image %q pull %s, want busybox:1.36 Never", step.Image, step.ImagePullPolicy)
	}
	// The step's command runs under the wrapper the init container put in
	// place, "$" escaped so the kubelet expands nothing.
	init := ps.InitContainers[0]
	if init.Image != "registry.example/baton:test" || !slices.Equal(init.Command, []string{"/baton", "step-wrap", "--install", "/baton-helper/baton"}) {
		t.Errorf("init container %q %q, want the helper installing baton", init.Image, init.Command)
	}
	want := []string{"/baton-helper/baton", "step-wrap", "--", "sh", "-c", `echo "$$(HOME) $$$$ $${X}" > "$$BATON_OUTPUT"`}
	if !slices.Equal(step.Command, want) {
		t.Errorf("command = %q, want %q", step.Command, want)
	}
	if len(step.Args) != 0 {
		t.Errorf("args = %q, want none", step.Args)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range step.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m := mounts["/baton-helper"]; !m.ReadOnly {
		t.Error("the wrapper's volume is writable by the step")
	}
	if m := mounts[executor.SecretsDir]; !m.ReadOnly || m.Name != secretsVolume {
		t.Errorf("secrets mount = %+v, want read-only at %s", m, executor.SecretsDir)
	}
	if _, ok := mounts["/tmp"]; !ok {
		t.Error("no private /tmp")
	}
	for _, v := range ps.Volumes {
		if v.Secret != nil && (v.Secret.SecretName != "baton-x" || *v.Secret.Optional) {
			t.Errorf("secret volume %+v, want the job's own secret, required", v.Secret)
		}
	}
}

func TestJobEnv(t *testing.T) {
	t.Parallel()
	e := newTestExecutor(t, Options{})
	job, err := e.job(testSpec(), "baton-x")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range job.Spec.Template.Spec.Containers[0].Env {
		if ev.ValueFrom != nil {
			t.Errorf("env %s comes from elsewhere", ev.Name)
		}
		got = append(got, ev.Name+"="+ev.Value)
	}
	want := []string{
		"A=one",
		"B=two $$(A) $$$$",
		"BATON_CALLBACK_URL=http://baton.example/api/v1/callbacks/r/s/2",
		"BATON_SECRETS_DIR=/run/secrets",
		"BATON_TOKEN_FILE=/run/secrets/.baton-token",
	}
	if !slices.Equal(got, want) {
		t.Errorf("env =\n%q\nwant\n%q", got, want)
	}
	if strings.Contains(strings.Join(got, " "), "token-value-9f2e") {
		t.Error("the token is in the pod's environment")
	}
}

func TestJobLimits(t *testing.T) {
	t.Parallel()
	e := newTestExecutor(t, Options{DefaultLimits: executor.Limits{MemoryBytes: 64 << 20, NanoCPUs: 2e9}, ActiveDeadline: 90 * time.Second})
	spec := testSpec()
	spec.Limits = executor.Limits{NanoCPUs: 5e8, PIDs: 10}
	job, err := e.job(spec, "baton-x")
	if err != nil {
		t.Fatal(err)
	}
	res := job.Spec.Template.Spec.Containers[0].Resources
	for name, want := range map[corev1.ResourceName]resource.Quantity{
		corev1.ResourceMemory: resource.MustParse("64Mi"),
		corev1.ResourceCPU:    resource.MustParse("500m"),
	} {
		if got := res.Limits[name]; got.Cmp(want) != 0 {
			t.Errorf("limit %s = %s, want %s", name, got.String(), want.String())
		}
		if got := res.Requests[name]; got.Cmp(want) != 0 {
			t.Errorf("request %s = %s, want %s", name, got.String(), want.String())
		}
	}
	if d := job.Spec.ActiveDeadlineSeconds; d == nil || *d != 90 {
		t.Errorf("activeDeadlineSeconds = %v, want 90", d)
	}
	if got := newTestExecutor(t, Options{}).resources(executor.Limits{PIDs: 5}); len(got.Limits) != 0 || len(got.Requests) != 0 {
		t.Errorf("resources without limits = %+v, want none", got)
	}
}

func TestParseUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user     string
		uid, gid int64 // -1: unset
		err      string
	}{
		{"1000", 1000, -1, ""},
		{"1000:0", 1000, 0, ""},
		{"65534:65534", 65534, 65534, ""},
		{"0", 0, 0, "is root"},
		{"0:1000", 0, 0, "is root"},
		{"nobody", 0, 0, "numeric uid"},
		{"1000:staff", 0, 0, "numeric gid"},
		{"-1", 0, 0, "numeric uid"},
		{"99999999999", 0, 0, "numeric uid"},
		{"", 0, 0, "numeric uid"},
	} {
		uid, gid, err := parseUser(tc.user)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseUser(%q) err = %v, want %q", tc.user, err, tc.err)
			}
			continue
		}
		if err != nil || *uid != tc.uid || (tc.gid < 0) != (gid == nil) || gid != nil && *gid != tc.gid {
			t.Errorf("parseUser(%q) = %v, %v, %v; want %d, %d", tc.user, uid, gid, err, tc.uid, tc.gid)
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Client: fake.NewClientset(), Namespace: "ns"}, "helper image"},
		{Options{Client: fake.NewClientset(), Namespace: "ns", HelperImage: "h", Instance: "not a label"}, "instance"},
		{Options{Client: fake.NewClientset(), Namespace: "Not_DNS", HelperImage: "h"}, "namespace"},
		{Options{Client: fake.NewClientset(), Namespace: "ns", HelperImage: "h", HelperPull: "maybe"}, "pull policy"},
	} {
		if _, err := New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) err = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

// TestJobDeadlineFromTimeout: the Job's deadline follows the step's timeout,
// late enough for baton's own stop to come first, and never past
// Options.ActiveDeadline.
func TestJobDeadlineFromTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cap     time.Duration
		timeout time.Duration
		want    int64 // 0: no deadline
	}{
		{"no timeout, no cap", 0, 0, 0},
		{"cap only", time.Hour, 0, 3600},
		{"timeout", 0, time.Minute, 60 + 10 + 30},
		{"timeout under the cap", time.Hour, time.Minute, 100},
		{"cap under the timeout", 90 * time.Second, time.Hour, 90},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestExecutor(t, Options{ActiveDeadline: tc.cap, StopGrace: 10 * time.Second})
			spec := testSpec()
			spec.Timeout = tc.timeout
			job, err := e.job(spec, "baton-x")
			if err != nil {
				t.Fatal(err)
			}
			got := job.Spec.ActiveDeadlineSeconds
			switch {
			case tc.want == 0 && got != nil:
				t.Errorf("activeDeadlineSeconds = %d, want none", *got)
			case tc.want != 0 && (got == nil || *got != tc.want):
				t.Errorf("activeDeadlineSeconds = %v, want %d", got, tc.want)
			}
		})
	}
}
