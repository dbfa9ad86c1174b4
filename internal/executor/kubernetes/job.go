package kubernetes

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/baton-dev/baton/internal/executor"
)

// Where things are in every step's container.
const (
	// helperDir holds the wrapper, copied there by the init container;
	// the step's container sees it read-only.
	helperDir = "/baton-helper"
	// tmpDir is a private, memory-backed /tmp, as the docker executor
	// gives: scratch space even on a read-only root, and where the
	// wrapper keeps the output file.
	tmpDir = "/tmp"
)

// Volume names.
const (
	helperVolume  = "baton-helper"
	secretsVolume = "baton-secrets"
	tmpVolume     = "baton-tmp"
)

// wrapperPath is the wrapper in the step's container.
var wrapperPath = path.Join(helperDir, "baton")

// job is the Job of one attempt. It is made suspended, so that no pod
// exists before its Secret does (see [Executor.Start]).
func (e *Executor) job(spec *executor.Spec, name string) (*batchv1.Job, error) {
	pull, err := pullPolicy(spec.Pull)
	if err != nil {
		return nil, err
	}
	helperPull, _ := pullPolicy(e.opts.HelperPull)
	sc, err := securityContext(spec)
	if err != nil {
		return nil, err
	}
	podSC := &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	if spec.User != "" {
		uid, gid, err := parseUser(spec.User)
		if err != nil {
			return nil, err
		}
		podSC.RunAsNonRoot, podSC.RunAsUser, podSC.RunAsGroup = ptr.To(true), uid, gid
	}
	res := e.resources(spec.Limits)
	helperSC := securityContextBase()
	helperSC.ReadOnlyRootFilesystem = ptr.To(true)

	var pullSecrets []corev1.LocalObjectReference
	for _, s := range e.opts.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: s})
	}
	command := append([]string{wrapperPath, "step-wrap", "--"}, escapeAll(spec.Command)...)
	meta := metav1.ObjectMeta{Labels: e.labels(spec), Annotations: annotations(spec)}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.namespace, Labels: meta.Labels, Annotations: meta.Annotations},
		Spec: batchv1.JobSpec{
			Parallelism:             ptr.To[int32](1),
			Completions:             ptr.To[int32](1),
			BackoffLimit:            ptr.To[int32](0),
			Suspend:                 ptr.To(true),
			TTLSecondsAfterFinished: ptr.To(int32(min(e.opts.TTL.Seconds(), math.MaxInt32))),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: meta,
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					AutomountServiceAccountToken:  ptr.To(false),
					EnableServiceLinks:            ptr.To(false),
					ShareProcessNamespace:         ptr.To(true),
					TerminationGracePeriodSeconds: ptr.To(int64(math.Ceil(e.opts.StopGrace.Seconds()))),
					SecurityContext:               podSC,
					ImagePullSecrets:              pullSecrets,
					InitContainers: []corev1.Container{{
						Name:            helperContainer,
						Image:           e.opts.HelperImage,
						ImagePullPolicy: helperPull,
						Command:         []string{e.opts.HelperPath, "step-wrap", "--install", wrapperPath},
						SecurityContext: helperSC,
						Resources:       res,
						VolumeMounts:    []corev1.VolumeMount{{Name: helperVolume, MountPath: helperDir}},
					}},
					Containers: []corev1.Container{{
						Name:            stepContainer,
						Image:           spec.Image,
						ImagePullPolicy: pull,
						Command:         command,
						Env:             envList(spec),
						SecurityContext: sc,
						Resources:       res,
						VolumeMounts: []corev1.VolumeMount{
							{Name: helperVolume, MountPath: helperDir, ReadOnly: true},
							{Name: secretsVolume, MountPath: executor.SecretsDir, ReadOnly: true},
							{Name: tmpVolume, MountPath: tmpDir},
						},
						// The message file is the step's to write: baton
						// never reads it.
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					}},
					Volumes: []corev1.Volume{
						{Name: helperVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
						{Name: secretsVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: name,
							// Readable by every user in the container, as
							// with docker: the step may run as anyone.
							DefaultMode: ptr.To[int32](0o444),
							Optional:    ptr.To(false),
						}}},
					},
				},
			},
		},
	}
	if d := e.deadline(spec); d > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr.To(int64(math.Ceil(d.Seconds())))
	}
	return job, nil
}

// deadline is the Job's activeDeadlineSeconds: the step's timeout, with
// time for baton's own stop (its grace and a margin) to come first, so the
// cluster ends the attempt only when baton cannot; capped by
// [Options.ActiveDeadline]. Zero means none.
func (e *Executor) deadline(spec *executor.Spec) time.Duration {
	d := e.opts.ActiveDeadline
	if spec.Timeout > 0 {
		step := spec.Timeout + e.opts.StopGrace + deadlineMargin
		if d == 0 || step < d {
			d = step
		}
	}
	return d
}

// deadlineMargin is how long after a step's timeout and stop grace the
// cluster's own deadline falls.
const deadlineMargin = 30 * time.Second

// secret holds the attempt's secrets and token, owned by its Job so that
// the cluster deletes it with the Job.
func secret(spec *executor.Spec, job *batchv1.Job) *corev1.Secret {
	data := make(map[string][]byte, len(spec.Secrets)+1)
	for name, value := range spec.Secrets {
		data[name] = value
	}
	if spec.Token != "" {
		data[executor.TokenFile] = []byte(spec.Token)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        job.Name,
			Namespace:   job.Namespace,
			Labels:      job.Labels,
			Annotations: job.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1",
				Kind:       "Job",
				Name:       job.Name,
				UID:        job.UID,
			}},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr.To(true),
		Data:      data,
	}
}

// checkSecretNames refuses names that are not plain file names, or that a
// Secret cannot hold as keys (letters, digits, '-', '_' and '.').
func checkSecretNames(secrets map[string][]byte) error {
	if err := executor.CheckSecretNames(secrets); err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	for name := range secrets {
		if errs := validation.IsConfigMapKey(name); len(errs) > 0 {
			return fmt.Errorf("kubernetes: secret name %q cannot be a file in a Kubernetes Secret: %s; rename the secret", name, strings.Join(errs, "; "))
		}
	}
	return nil
}

// envList is the step's environment in a stable order, escaped so the
// kubelet passes it verbatim, with the secrets' and token's paths, which
// only the executor knows. [executor.EnvOutput] is the wrapper's to set.
func envList(spec *executor.Spec) []corev1.EnvVar {
	names := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		switch k {
		case executor.EnvOutput, executor.EnvSecretsDir, executor.EnvToken, executor.EnvTokenFile:
		default:
			names = append(names, k)
		}
	}
	sort.Strings(names)
	env := make([]corev1.EnvVar, 0, len(names)+2)
	for _, k := range names {
		env = append(env, corev1.EnvVar{Name: k, Value: escape(spec.Env[k])})
	}
	env = append(env, corev1.EnvVar{Name: executor.EnvSecretsDir, Value: executor.SecretsDir})
	if spec.Token != "" {
		env = append(env, corev1.EnvVar{Name: executor.EnvTokenFile, Value: path.Join(executor.SecretsDir, executor.TokenFile)})
	}
	return env
}

// escape doubles every "$": the kubelet expands $(NAME) in a container's
// env values, command and arguments, and turns "$$" into "$", so escaped
// text reaches the step exactly as baton was given it.
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func escapeAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = escape(a)
	}
	return out
}

// securityContextBase is what every container gets: no capability, no way
// to gain privileges, the runtime's seccomp profile.
func securityContextBase() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		Privileged:               ptr.To(false),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// securityContext is the step container's: the base, the capabilities the
// step adds back, and its root file system as it asks.
func securityContext(spec *executor.Spec) (*corev1.SecurityContext, error) {
	sc := securityContextBase()
	caps, err := capAdd(spec.CapAdd)
	if err != nil {
		return nil, err
	}
	sc.Capabilities.Add = caps
	sc.ReadOnlyRootFilesystem = ptr.To(spec.ReadOnlyRoot)
	return sc, nil
}

// parseUser maps "uid[:gid]" to the pod's runAsUser and runAsGroup. Names
// cannot be mapped: the cluster has no way to look them up in the image.
func parseUser(user string) (uid, gid *int64, err error) {
	u, g, hasGroup := strings.Cut(user, ":")
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return nil, nil, fmt.Errorf("kubernetes: user %q is not a numeric uid[:gid]; Kubernetes cannot look user names up in the image, so write the numbers, e.g. user: \"1000:1000\"", user)
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("kubernetes: user %q is root; steps that set user run as non-root (runAsNonRoot), so give another uid, or leave user out to run as the image's user", user)
	}
	uid = &n
	if hasGroup {
		m, err := strconv.ParseInt(g, 10, 64)
		if err != nil || m < 0 || m > math.MaxInt32 {
			return nil, nil, fmt.Errorf("kubernetes: group in user %q is not a numeric gid; write the numbers, e.g. user: \"1000:1000\"", user)
		}
		gid = &m
	}
	return uid, gid, nil
}

// resources are the attempt's limits as both requests and limits, so the
// scheduler places the pod where they fit and the kubelet enforces them.
func (e *Executor) resources(l executor.Limits) corev1.ResourceRequirements {
	if l.MemoryBytes == 0 {
		l.MemoryBytes = e.opts.DefaultLimits.MemoryBytes
	}
	if l.NanoCPUs == 0 {
		l.NanoCPUs = e.opts.DefaultLimits.NanoCPUs
	}
	list := corev1.ResourceList{}
	if l.MemoryBytes > 0 {
		list[corev1.ResourceMemory] = *resource.NewQuantity(l.MemoryBytes, resource.BinarySI)
	}
	if l.NanoCPUs > 0 {
		// A millicore is the finest the kubelet enforces.
		list[corev1.ResourceCPU] = *resource.NewMilliQuantity(max(l.NanoCPUs/1e6, 1), resource.DecimalSI)
	}
	if len(list) == 0 {
		return corev1.ResourceRequirements{}
	}
	return corev1.ResourceRequirements{Requests: list, Limits: list.DeepCopy()}
}

// pullPolicy maps baton's pull policy to Kubernetes'.
func pullPolicy(p string) (corev1.PullPolicy, error) {
	switch p {
	case "", executor.PullIfMissing:
		return corev1.PullIfNotPresent, nil
	case executor.PullAlways:
		return corev1.PullAlways, nil
	case executor.PullNever:
		return corev1.PullNever, nil
	}
	return "", fmt.Errorf("kubernetes: pull policy %q; use always, if-missing or never", p)
}

// capAdd validates capability names; see [executor.Capabilities].
func capAdd(names []string) ([]corev1.Capability, error) {
	names, err := executor.Capabilities(names)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	var caps []corev1.Capability
	for _, c := range names {
		caps = append(caps, corev1.Capability(c))
	}
	return caps, nil
}
