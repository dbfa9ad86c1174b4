//go:build kubernetes

package registry

import (
	"context"
	"time"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/kubernetes"
)

// kubernetesFields are a kubernetes entry's own fields; see
// [kubernetes.Options].
type kubernetesFields struct {
	Kubeconfig       config.Path     `yaml:"kubeconfig"`
	Context          string          `yaml:"context"`
	Namespace        string          `yaml:"namespace"`
	HelperImage      string          `yaml:"helper_image"`
	HelperPath       string          `yaml:"helper_path"`
	HelperPull       string          `yaml:"helper_pull"`
	ImagePullSecrets []string        `yaml:"image_pull_secrets"`
	StopGrace        config.Duration `yaml:"stop_grace"`
	ActiveDeadline   config.Duration `yaml:"active_deadline"`
	TTL              config.Duration `yaml:"ttl"`
	PendingTimeout   config.Duration `yaml:"pending_timeout"`
	SplitLogStreams  bool            `yaml:"split_log_streams"`
}

// KubernetesBuiltIn says whether this binary can drive Kubernetes; see
// kubernetes_off.go.
const KubernetesBuiltIn = true

// kubernetesType builds kubernetes executors: this binary was built with
// -tags kubernetes, and carries client-go.
func kubernetesType() Type { return remote(typeOf(newKubernetes)) }

// newKubernetes makes the executor under its registry name, which its
// handles then carry.
func newKubernetes(_ context.Context, env *Env, name string, f *kubernetesFields) (executor.Executor, error) {
	return kubernetes.New(kubernetes.Options{
		Name: name, Kubeconfig: string(f.Kubeconfig), Context: f.Context, Namespace: f.Namespace,
		HelperImage: f.HelperImage, HelperPath: f.HelperPath, HelperPull: f.HelperPull, ImagePullSecrets: f.ImagePullSecrets,
		StopGrace: time.Duration(f.StopGrace), ActiveDeadline: time.Duration(f.ActiveDeadline), TTL: time.Duration(f.TTL),
		PendingTimeout: time.Duration(f.PendingTimeout), SplitLogStreams: f.SplitLogStreams,
		Instance: env.Instance, DefaultLimits: env.DefaultLimits, Logger: env.Logger.With("executor", name),
	})
}
