// Package kubernetes runs each step attempt as a batch/v1 Job on a
// Kubernetes cluster, through client-go. One Job per attempt, never retried
// by the cluster (backoffLimit 0: baton decides about retries), with the
// attempt's secrets and token in a Secret the Job owns, so that the cluster
// removes it with the Job even when baton does not.
//
// The cluster cannot hand the step's output file back to baton, so the
// step's command runs under `baton step-wrap` (package stepwrap): an init
// container copies baton's own binary from [Options.HelperImage] into a
// volume the step's container shares, and the wrapper posts the file
// through the step's callback when the command exits. Outputs therefore
// reach baton through the callback, and [executor.Result.Output] is always
// nil.
//
// What a step asks that the executor can never give (a user by name,
// which the cluster cannot look up in the image, or root; secret names a
// Secret cannot hold; no image or no command) is refused by
// [Executor.CheckSpec], which the engine calls when the step's pipeline
// is applied, with the reason, and which Start calls first.
//
// Waiting is watch-based: the Job and its pod are listed once, then
// watched from that resource version, and a watch that ends or expires is
// made again. Pod-level failures (an image that cannot be pulled, a pod
// that cannot be scheduled, an eviction) are reported as attempt errors
// that say what the cluster said.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/baton-dev/baton/internal/executor"
)

// Defaults of [Options].
const (
	DefaultName           = "kubernetes"
	DefaultHelperPath     = "/baton"
	DefaultStopGrace      = 10 * time.Second
	DefaultPendingTimeout = 5 * time.Minute
	DefaultTTL            = 24 * time.Hour
)

// Options configure an [Executor].
type Options struct {
	// Name is the executor's name in handles and in baton's registry;
	// empty means [DefaultName].
	Name string
	// Kubeconfig is the path of a kubeconfig file. Empty means the
	// in-cluster configuration when baton runs in a pod, else the usual
	// kubeconfig rules ($KUBECONFIG, then ~/.kube/config).
	Kubeconfig string
	// Context is the kubeconfig context to use; empty means its current one.
	Context string
	// Namespace is where Jobs are made; empty means the kubeconfig
	// context's namespace, or the pod's own in a cluster.
	Namespace string
	// Client, when set, is used instead of a client built from the
	// kubeconfig: for tests, and for programs that embed baton.
	Client k8s.Interface

	// HelperImage holds baton's static binary at HelperPath; its init
	// container copies it into every step's pod (see the package doc).
	// Required.
	HelperImage string
	// HelperPath is where baton is in HelperImage; empty means
	// [DefaultHelperPath].
	HelperPath string
	// HelperPull is the helper image's pull policy, one of
	// [executor.PullAlways], [executor.PullIfMissing], [executor.PullNever];
	// empty means if-missing.
	HelperPull string
	// ImagePullSecrets name Secrets in the namespace that every step's
	// pod may pull its images with.
	ImagePullSecrets []string

	// Instance names this baton installation; its Jobs carry it, and
	// ListOwned sees only them. It must be a valid label value.
	Instance string
	// DefaultLimits apply to attempts whose spec leaves a limit zero.
	// PIDs cannot be enforced per pod and are ignored.
	DefaultLimits executor.Limits
	// StopGrace is how long a stopped step has between SIGTERM and
	// SIGKILL (the pod's terminationGracePeriodSeconds: it is fixed when
	// the pod is made, whatever grace Stop is given); zero means
	// [DefaultStopGrace].
	StopGrace time.Duration
	// ActiveDeadline, when set, is the Job's activeDeadlineSeconds: the
	// cluster stops an attempt that runs longer, even if baton is gone.
	// Baton enforces step timeouts itself; this is a backstop.
	ActiveDeadline time.Duration
	// TTL is the Job's ttlSecondsAfterFinished, a safety net: baton
	// removes each attempt's Job once it has its logs, and the cluster
	// removes a finished Job that baton left behind after TTL. Zero means
	// [DefaultTTL].
	TTL time.Duration
	// PendingTimeout is how long a pod may stay unschedulable, or fail to
	// pull an image for a reason that may pass, before the attempt fails
	// with what the cluster said; zero means [DefaultPendingTimeout].
	PendingTimeout time.Duration
	// SplitLogStreams asks the cluster for stdout and stderr apart. It
	// needs the PodLogsQuerySplitStreams feature gate on the API server and
	// every kubelet; without it both streams arrive as one, reported as
	// stdout.
	SplitLogStreams bool

	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Executor runs attempts as Jobs. Everything it needs is in the cluster,
// so any Executor on the same namespace can wait for, stop or remove an
// attempt another one started, including one from before a restart.
type Executor struct {
	client    k8s.Interface
	name      string
	namespace string
	opts      Options
	logger    *slog.Logger
	// logDrain is how long a log stream may go on after its container
	// ended before it is cut and read to its end afresh (see FollowLogs).
	logDrain time.Duration
}

var (
	_ executor.Executor    = (*Executor)(nil)
	_ executor.LogFollower = (*Executor)(nil)
	_ executor.Lister      = (*Executor)(nil)
	_ executor.Checker     = (*Executor)(nil)
)

// New returns a Kubernetes executor. It reads the kubeconfig but does not
// contact the cluster; see [Executor.Ping].
func New(opts Options) (*Executor, error) {
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.HelperImage == "" {
		return nil, errors.New("kubernetes: no helper image; set the image that holds baton's static binary (helper_image), which every step's pod needs to return its output file")
	}
	if opts.HelperPath == "" {
		opts.HelperPath = DefaultHelperPath
	}
	if _, err := pullPolicy(opts.HelperPull); err != nil {
		return nil, fmt.Errorf("kubernetes: helper image: %w", err)
	}
	if opts.Instance != "" {
		if errs := validation.IsValidLabelValue(opts.Instance); len(errs) > 0 {
			return nil, fmt.Errorf("kubernetes: instance %q is not a valid label value: %s", opts.Instance, strings.Join(errs, "; "))
		}
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.PendingTimeout <= 0 {
		opts.PendingTimeout = DefaultPendingTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Executor{client: opts.Client, name: opts.Name, namespace: opts.Namespace, opts: opts, logger: opts.Logger, logDrain: 10 * time.Second}
	if e.client == nil || e.namespace == "" {
		cfg, ns, err := loadConfig(opts)
		if err != nil {
			return nil, err
		}
		if e.namespace == "" {
			e.namespace = ns
		}
		if e.client == nil {
			if e.client, err = k8s.NewForConfig(cfg); err != nil {
				return nil, fmt.Errorf("kubernetes: client: %w", err)
			}
		}
	}
	if errs := validation.IsDNS1123Label(e.namespace); len(errs) > 0 {
		return nil, fmt.Errorf("kubernetes: namespace %q: %s", e.namespace, strings.Join(errs, "; "))
	}
	return e, nil
}

// loadConfig returns the client configuration and the namespace it names.
func loadConfig(opts Options) (*rest.Config, string, error) {
	if opts.Kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("KUBECONFIG") == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, "", fmt.Errorf("kubernetes: in-cluster configuration: %w; or give a kubeconfig", err)
		}
		ns := "default"
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			ns = strings.TrimSpace(string(b))
		}
		return tune(cfg), ns, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if opts.Kubeconfig != "" {
		rules.ExplicitPath = opts.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: kubeconfig: %w; give the path of a kubeconfig for the cluster", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes: kubeconfig namespace: %w", err)
	}
	return tune(cfg), ns, nil
}

// tune sets what every client of baton's gets: its name in the server's
// audit log, and a rate that a busy pipeline does not queue behind.
func tune(cfg *rest.Config) *rest.Config {
	cfg.UserAgent = "baton"
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	return cfg
}

// Name implements [executor.Executor].
func (e *Executor) Name() string { return e.name }

// Namespace is where the executor makes its Jobs.
func (e *Executor) Namespace() string { return e.namespace }

// Ping reports whether the cluster answers and lets baton list Jobs in the
// namespace.
func (e *Executor) Ping(ctx context.Context) error {
	if _, err := e.client.BatchV1().Jobs(e.namespace).List(ctx, listOne); err != nil {
		return fmt.Errorf("kubernetes: list jobs in namespace %s: %w", e.namespace, err)
	}
	return nil
}

// ref is what a handle names: a Job in a namespace.
type ref struct{ namespace, name string }

func (r ref) String() string { return r.namespace + "/" + r.name }

// handle returns the handle of the Job r.
func (e *Executor) handle(r ref) *executor.Handle {
	return &executor.Handle{Executor: e.name, ID: r.String()}
}

// parseHandle returns the Job h names.
func parseHandle(h *executor.Handle) (ref, error) {
	ns, name, ok := strings.Cut(h.ID, "/")
	if !ok || ns == "" || name == "" {
		return ref{}, fmt.Errorf("kubernetes: handle %q does not name a job as namespace/name: %w", h.ID, executor.ErrNotFound)
	}
	return ref{ns, name}, nil
}
