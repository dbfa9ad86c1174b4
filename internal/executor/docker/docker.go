// Package docker runs each step attempt as a container on a Docker Engine,
// through the engine's official Go SDK. The step's output file is
// /baton/output in the container. With [Options.OutputDir] set (an engine on
// this machine) it is a bind-mounted host file, read directly after exit;
// otherwise it is copied into and out of the container, which works with a
// remote engine but costs two archive calls per attempt.
//
// Every container is hardened the same way (see [Executor.Start]): all
// capabilities dropped, no new privileges, a process limit, a private /tmp,
// and no host namespaces. Secrets are written to a host tmpfs and
// bind-mounted read-only at [executor.SecretsDir], so steps with secrets
// need an engine on this machine.
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
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/failpoint"
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
	// OutputDir, when set, is a host directory the engine can bind-mount:
	// each attempt's output file is made there. Leave it empty for an engine
	// on another machine.
	OutputDir string
	// Instance names this baton installation; its containers carry it, and
	// List sees only them. Empty: every baton container is listed.
	Instance string
	// SecretsDir is a host directory on a tmpfs where each attempt's
	// secrets are written for the engine to bind-mount; empty means
	// [executor.DefaultSecretsDir]. Only attempts with secrets use it.
	SecretsDir string
	// DefaultLimits apply to attempts whose spec leaves a limit zero. A zero
	// PIDs here means [DefaultPIDs]; zero memory or CPUs mean no limit.
	DefaultLimits executor.Limits
}

// Executor runs attempts as containers. Everything it needs is on the
// engine, so any Executor on the same engine can wait for, stop or remove an
// attempt another one started, including one from before a restart.
type Executor struct {
	cli        *client.Client
	logger     *slog.Logger
	extraHosts []string
	outputDir  string
	instance   string
	secretsDir string
	defaults   executor.Limits
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
	if opts.SecretsDir == "" {
		opts.SecretsDir = executor.DefaultSecretsDir
	}
	if opts.DefaultLimits.PIDs == 0 {
		opts.DefaultLimits.PIDs = DefaultPIDs
	}
	return &Executor{
		cli:        cli,
		logger:     opts.Logger,
		extraHosts: append([]string{hostGateway}, opts.ExtraHosts...),
		outputDir:  opts.OutputDir,
		instance:   opts.Instance,
		secretsDir: filepath.Clean(opts.SecretsDir),
		defaults:   opts.DefaultLimits,
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
// its Cmd, so the image's entrypoint, if any, still applies. It runs as
// spec.User (or the image's user) with the limits, capabilities and root
// file system the spec asks for, on top of the hardening in
// [Executor.hostConfig]. Secrets are bind-mounted read-only; they appear in
// neither the container's environment nor its configuration.
func (e *Executor) Start(ctx context.Context, spec *executor.Spec) (*executor.Handle, error) {
	if spec.Image == "" {
		return nil, fmt.Errorf("docker: %w: step %q has no image; add image: to the step, or run it with --executor process", executor.ErrImageNotFound, spec.Step)
	}
	cfg := &container.Config{
		Image:  spec.Image,
		Cmd:    spec.Command,
		Env:    envList(spec.Env),
		Labels: e.labels(spec),
		User:   spec.User,
	}
	// Refused before anything is written for the attempt.
	if _, err := capAdd(spec.CapAdd); err != nil {
		return nil, err
	}
	name := containerName(spec)
	var dir, secrets string
	cleanup := func() {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
		if err := e.removeSecrets(secrets); err != nil {
			e.logger.Warn("docker: remove secrets", "container", name, "err", err)
		}
	}
	var err error
	if e.outputDir != "" {
		if dir, err = makeOutputDir(e.outputDir, name); err != nil {
			return nil, err
		}
	}
	if len(spec.Secrets) > 0 {
		if secrets, err = e.writeSecrets(name, spec.Secrets); err != nil {
			cleanup()
			return nil, err
		}
	}
	hostCfg, err := e.hostConfig(spec, dir, secrets)
	if err != nil {
		cleanup()
		return nil, err
	}
	created, err := e.create(ctx, cfg, hostCfg, name, spec.Pull)
	if err != nil {
		cleanup()
		return nil, err
	}
	for _, w := range created.Warnings {
		e.logger.Warn("docker: create container", "container", name, "warning", w)
	}
	h := &executor.Handle{Executor: e.Name(), ID: created.ID, Dir: dir}
	failpoint.Hit(failpoint.ContainerCreated)
	if dir == "" {
		// A read-only root takes files only in its /baton volume.
		dst, tarball := "/", outputTar
		if spec.ReadOnlyRoot {
			dst, tarball = path.Dir(OutputPath), outputVolumeTar
		}
		err = e.cli.CopyToContainer(ctx, created.ID, dst, bytes.NewReader(tarball), container.CopyToContainerOptions{})
		if err != nil {
			e.startFailed(name, secrets)
			return h, fmt.Errorf("docker: create output file in %q: %w", name, err)
		}
	}
	if err := e.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		e.startFailed(name, secrets)
		return h, fmt.Errorf("docker: start container %q: %w", name, err)
	}
	e.logger.Debug("docker: started", "run_id", spec.RunID, "step", spec.Step,
		"attempt", spec.Attempt, "container", created.ID)
	return h, nil
}

// startFailed removes the secrets of an attempt that will never run at once,
// rather than when the caller gets round to [Executor.Remove].
func (e *Executor) startFailed(name, secrets string) {
	if err := e.removeSecrets(secrets); err != nil {
		e.logger.Warn("docker: remove secrets", "container", name, "err", err)
	}
}

// create creates the container, applying the pull policy on the way: the
// image is looked for only when the engine says it is missing, so the usual
// case costs one call.
func (e *Executor) create(ctx context.Context, cfg *container.Config, hostCfg *container.HostConfig, name, policy string) (container.CreateResponse, error) {
	switch policy {
	case executor.PullAlways:
		if err := e.pullImage(ctx, cfg.Image); err != nil {
			return container.CreateResponse{}, err
		}
	case "", executor.PullIfMissing, executor.PullNever:
	default:
		return container.CreateResponse{}, fmt.Errorf("docker: unknown pull policy %q (want %q, %q or %q)",
			policy, executor.PullAlways, executor.PullIfMissing, executor.PullNever)
	}
	created, err := e.cli.ContainerCreate(ctx, cfg, hostCfg, nil, nil, name)
	if err == nil || !cerrdefs.IsNotFound(err) {
		if err != nil {
			return created, fmt.Errorf("docker: create container %q: %w", name, err)
		}
		return created, nil
	}
	if present, ierr := e.imagePresent(ctx, cfg.Image); ierr != nil || present {
		return created, fmt.Errorf("docker: create container %q: %w", name, err)
	}
	if policy == executor.PullNever {
		return created, fmt.Errorf("docker: %w: %q is not on the engine and the pull policy is %q; pull it first or use %q",
			executor.ErrImageNotFound, cfg.Image, policy, executor.PullIfMissing)
	}
	if err := e.pullImage(ctx, cfg.Image); err != nil {
		return created, err
	}
	created, err = e.cli.ContainerCreate(ctx, cfg, hostCfg, nil, nil, name)
	if err != nil {
		return created, fmt.Errorf("docker: create container %q: %w", name, err)
	}
	return created, nil
}

// pullImage pulls ref; a pull that leaves the image missing is
// [executor.ErrImageNotFound].
func (e *Executor) pullImage(ctx context.Context, ref string) error {
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

// makeOutputDir makes an attempt's host directory holding an empty output
// file that any user in the container may write.
func makeOutputDir(root, name string) (string, error) {
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("docker: output directory: %w", err)
	}
	file := filepath.Join(dir, path.Base(OutputPath))
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		return "", fmt.Errorf("docker: output file: %w", err)
	}
	// Modes are set after creation so the umask does not narrow them.
	if err := os.Chmod(dir, 0o777); err != nil {
		return "", fmt.Errorf("docker: output directory: %w", err)
	}
	if err := os.Chmod(file, 0o666); err != nil {
		return "", fmt.Errorf("docker: output file: %w", err)
	}
	return dir, nil
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
// specs create identical containers, plus the paths of the output file and
// the secrets, which only the executor knows.
func envList(env map[string]string) []string {
	list := make([]string, 0, len(env)+2)
	for k, v := range env {
		if k != executor.EnvOutput && k != executor.EnvSecretsDir {
			list = append(list, k+"="+v)
		}
	}
	sort.Strings(list)
	return append(list, executor.EnvOutput+"="+OutputPath, executor.EnvSecretsDir+"="+executor.SecretsDir)
}

func (e *Executor) labels(spec *executor.Spec) map[string]string {
	l := map[string]string{
		executor.LabelManaged: "true",
		executor.LabelRun:     spec.RunID,
		executor.LabelStep:    spec.Step,
		executor.LabelAttempt: strconv.Itoa(spec.Attempt),
	}
	if e.instance != "" {
		l[executor.LabelInstance] = e.instance
	}
	return l
}

// containerName is baton-<run>-<step>-<attempt>, reduced to what Docker
// accepts in a name.
func containerName(spec *executor.Spec) string { return "baton-" + spec.Slug(194) }

// outputTar holds an empty /baton/output that any user in the container may
// write, unpacked at / before the container starts.
var outputTar = emptyTar(
	&tar.Header{Name: "baton/", Typeflag: tar.TypeDir, Mode: 0o777},
	&tar.Header{Name: "baton/output", Typeflag: tar.TypeReg, Mode: 0o666},
)

// outputVolumeTar is [outputTar] for a read-only root, unpacked into the
// /baton volume.
var outputVolumeTar = emptyTar(
	&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o777},
	&tar.Header{Name: "output", Typeflag: tar.TypeReg, Mode: 0o666},
)

// emptyTar is an archive of empty files and directories.
func emptyTar(hdrs ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
