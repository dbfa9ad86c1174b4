// Package docker runs each step attempt as a container on a Docker Engine,
// through the engine's official Go SDK. The step's output file lives in the
// container at /baton/output and is copied out when the attempt exits, so no
// host directory is shared with the container.
package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor"
)

// OutputPath is where the output file lives inside every container.
const OutputPath = "/baton/output"

// hostGateway lets a step reach the host as host.docker.internal, which
// Docker Desktop provides by itself but Linux engines only on request.
const hostGateway = "host.docker.internal:host-gateway"

// Options configure an [Executor].
type Options struct {
	// Host is the engine's address, e.g. unix:///var/run/docker.sock; empty
	// means the environment (DOCKER_HOST and friends), then the default.
	Host string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// ExtraHosts are added to every container's /etc/hosts, as "name:ip".
	ExtraHosts []string
}

// Executor runs attempts as containers. Everything it needs is on the
// engine, so any Executor on the same engine can wait for, stop or remove an
// attempt another one started, including one from before a restart.
type Executor struct {
	cli        *client.Client
	logger     *slog.Logger
	extraHosts []string
}

var (
	_ executor.Executor    = (*Executor)(nil)
	_ executor.LogFollower = (*Executor)(nil)
)

// New returns a Docker executor. It does not contact the engine; see
// [Executor.Ping].
func New(opts Options) (*Executor, error) {
	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.Host))
	}
	cli, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("docker: client: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Executor{
		cli:        cli,
		logger:     opts.Logger,
		extraHosts: append([]string{hostGateway}, opts.ExtraHosts...),
	}, nil
}

// Close releases the client's connections.
func (e *Executor) Close() error { return e.cli.Close() }

// Name implements [executor.Executor].
func (*Executor) Name() string { return "docker" }

// Ping reports whether the engine answers.
func (e *Executor) Ping(ctx context.Context) error {
	if _, err := e.cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker: ping %s: %w", e.cli.DaemonHost(), err)
	}
	return nil
}

// Start implements [executor.Executor]. The container runs spec.Command as
// its Cmd, so the image's entrypoint, if any, still applies.
func (e *Executor) Start(ctx context.Context, spec *executor.Spec) (*executor.Handle, error) {
	if spec.Image == "" {
		return nil, fmt.Errorf("docker: step %q has no image", spec.Step)
	}
	if err := e.ensureImage(ctx, spec.Image, spec.Pull); err != nil {
		return nil, err
	}
	cfg := &container.Config{
		Image:  spec.Image,
		Cmd:    spec.Command,
		Env:    envList(spec.Env),
		Labels: labels(spec),
	}
	hostCfg := &container.HostConfig{ExtraHosts: e.extraHosts}
	name := containerName(spec)
	created, err := e.cli.ContainerCreate(ctx, cfg, hostCfg, nil, nil, name)
	if err != nil {
		return nil, fmt.Errorf("docker: create container %q: %w", name, err)
	}
	for _, w := range created.Warnings {
		e.logger.Warn("docker: create container", "container", name, "warning", w)
	}
	h := &executor.Handle{Executor: e.Name(), ID: created.ID}
	err = e.cli.CopyToContainer(ctx, created.ID, "/", bytes.NewReader(outputTar), container.CopyToContainerOptions{})
	if err != nil {
		return h, fmt.Errorf("docker: create output file in %q: %w", name, err)
	}
	if err := e.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return h, fmt.Errorf("docker: start container %q: %w", name, err)
	}
	e.logger.Debug("docker: started", "run_id", spec.RunID, "step", spec.Step,
		"attempt", spec.Attempt, "container", created.ID)
	return h, nil
}

// ensureImage applies the pull policy.
func (e *Executor) ensureImage(ctx context.Context, ref, policy string) error {
	switch policy {
	case executor.PullAlways:
	case "", executor.PullIfMissing, executor.PullNever:
		present, err := e.imagePresent(ctx, ref)
		if err != nil || present {
			return err
		}
		if policy == executor.PullNever {
			return fmt.Errorf("docker: %w: %q is not on the engine and the pull policy is %q; pull it first or use %q",
				executor.ErrImageNotFound, ref, policy, executor.PullIfMissing)
		}
	default:
		return fmt.Errorf("docker: unknown pull policy %q (want %q, %q or %q)",
			policy, executor.PullAlways, executor.PullIfMissing, executor.PullNever)
	}
	err := e.pull(ctx, ref)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("docker: pull %q: %w", ref, ctx.Err())
	}
	// Only a pull that leaves the image missing means the image is not found;
	// with a local copy, pull: always failed for another reason.
	if present, ierr := e.imagePresent(ctx, ref); ierr == nil && !present {
		return fmt.Errorf("docker: %w: %q could not be pulled: %v", executor.ErrImageNotFound, ref, err)
	}
	return fmt.Errorf("docker: pull %q: %w", ref, err)
}

func (e *Executor) imagePresent(ctx context.Context, ref string) (bool, error) {
	_, err := e.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("docker: inspect image %q: %w", ref, err)
	}
	return true, nil
}

// pull pulls ref. The engine reports most failures only inside the progress
// stream, so the stream is read to its end.
func (e *Executor) pull(ctx context.Context, ref string) error {
	e.logger.Info("docker: pulling image", "image", ref)
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// envList is the step's environment in a stable order, so that identical
// specs create identical containers, plus the output file's path.
func envList(env map[string]string) []string {
	list := make([]string, 0, len(env)+1)
	for k, v := range env {
		if k != executor.EnvOutput {
			list = append(list, k+"="+v)
		}
	}
	sort.Strings(list)
	return append(list, executor.EnvOutput+"="+OutputPath)
}

func labels(spec *executor.Spec) map[string]string {
	return map[string]string{
		executor.LabelManaged: "true",
		executor.LabelRun:     spec.RunID,
		executor.LabelStep:    spec.Step,
		executor.LabelAttempt: strconv.Itoa(spec.Attempt),
	}
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// containerName is baton-<run>-<step>-<attempt>, reduced to what Docker
// accepts in a name.
func containerName(spec *executor.Spec) string {
	name := fmt.Sprintf("baton-%s-%s-%d", spec.RunID, spec.Step, spec.Attempt)
	name = unsafeName.ReplaceAllString(name, "-")
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

// outputTar holds an empty /baton/output that any user in the container may
// write, unpacked at / before the container starts.
var outputTar = func() []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "baton/", Typeflag: tar.TypeDir, Mode: 0o777},
		{Name: "baton/output", Typeflag: tar.TypeReg, Mode: 0o666},
	} {
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}()
