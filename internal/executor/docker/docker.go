// Package docker runs each step attempt as a container on a Docker Engine,
// through the engine's official Go SDK. The step's output file is
// /baton/output in the container. Where baton may mount file systems and
// the engine is on this machine, /baton is a tmpfs of the attempt's own,
// capped at 2 MiB, bind-mounted from under [Options.OutputDir], and the file
// is read on the host through stepfile, which follows no link and reads
// only a regular file, bounded in size and time. Elsewhere the file is
// copied into the container before start and, when a stat says the step
// wrote something, out of it after exit: one or two archive calls per
// attempt. Either way nothing the step does to
// the file (a link, a pipe, a device, a huge file) is followed or read on
// the host, and a step cannot fill baton's data directory through it.
//
// Every container is hardened the same way (see [Executor.Start]): all
// capabilities dropped, no new privileges, a process limit, a private /tmp,
// no host namespaces, and a bounded Docker log. On an engine on this
// machine (a unix:// socket), secrets and the attempt's token are written
// to a host tmpfs and bind-mounted read-only at [executor.SecretsDir]; with
// an engine elsewhere nothing can be bind-mounted, so steps with secrets
// are refused and the token is passed as [executor.EnvToken].
package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
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
	// Only an engine reached through a unix:// socket is taken to be on
	// this machine, able to bind-mount its files.
	Host string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// ExtraHosts are added to every container's /etc/hosts, as "name:ip".
	ExtraHosts []string
	// Instance names this baton installation; its containers carry it, and
	// List sees only them. Empty: every baton container is listed.
	Instance string
	// SecretsDir is a host directory on a tmpfs where each attempt's
	// secrets and token are written for the engine to bind-mount; empty
	// means [executor.DefaultSecretsDir].
	SecretsDir string
	// DefaultLimits apply to attempts whose spec leaves a limit zero. A zero
	// PIDs here means [DefaultPIDs]; zero memory or CPUs mean no limit.
	DefaultLimits executor.Limits
	// OutputDir is a host directory, such as <data-dir>/outputs, under
	// which each attempt gets a directory with a tmpfs mounted on it, to
	// be bind-mounted at /baton. It is made 0700 if missing, and refused
	// if it is a link or another user's. It is used only where baton can
	// mount and the engine is on this machine; empty, or where it cannot
	// be used, the output file is copied in and out of each container.
	// Only one baton process may use a given OutputDir.
	OutputDir string
	// CopyOutput forces the copy path even where OutputDir could be used.
	CopyOutput bool
}

// Executor runs attempts as containers. Everything it needs is on the
// engine, so any Executor on the same engine can wait for, stop or remove an
// attempt another one started, including one from before a restart.
type Executor struct {
	cli        *client.Client
	logger     *slog.Logger
	extraHosts []string
	instance   string
	secretsDir string
	defaults   executor.Limits
	// local says the engine can bind-mount this machine's files.
	local      bool
	outputDir  string
	copyOutput bool
	mode       outputMode
}

var (
	_ executor.Executor    = (*Executor)(nil)
	_ executor.LogFollower = (*Executor)(nil)
	_ executor.Checker     = (*Executor)(nil)
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
	if opts.OutputDir != "" {
		if opts.OutputDir, err = filepath.Abs(opts.OutputDir); err != nil {
			return nil, fmt.Errorf("docker: output directory: %w", err)
		}
	}
	return &Executor{
		cli:        cli,
		logger:     opts.Logger,
		extraHosts: append([]string{hostGateway}, opts.ExtraHosts...),
		instance:   opts.Instance,
		secretsDir: filepath.Clean(opts.SecretsDir),
		defaults:   opts.DefaultLimits,
		local:      strings.HasPrefix(cli.DaemonHost(), "unix://"),
		outputDir:  opts.OutputDir,
		copyOutput: opts.CopyOutput,
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
// [Executor.hostConfig]. Secrets and the token are files, bind-mounted
// read-only; they appear in neither the container's environment nor its
// configuration, except the token with an engine on another machine, where
// no file can be mounted.
//
// A spec [Executor.CheckSpec] refuses is refused before anything is made.
// Every call to the engine carries ctx: a pull that never ends returns
// when ctx does.
func (e *Executor) Start(ctx context.Context, spec *executor.Spec) (*executor.Handle, error) {
	// Refused before anything is written for the attempt.
	if err := e.CheckSpec(spec); err != nil {
		return nil, err
	}
	name := containerName(spec)
	// The attempt's directories on the host share one name, so that the
	// output directory in a handle leads to the secrets too.
	dirName, err := attemptDirName(name)
	if err != nil {
		return nil, err
	}
	env := envList(spec.Env)
	var secrets string
	if e.local {
		if secrets, err = e.writeSecrets(dirName, spec.Secrets, spec.Token); err != nil {
			return nil, err
		}
		if spec.Token != "" {
			env = append(env, executor.EnvTokenFile+"="+path.Join(executor.SecretsDir, executor.TokenFile))
		}
	} else if spec.Token != "" {
		env = append(env, executor.EnvToken+"="+spec.Token)
	}
	cfg := &container.Config{
		Image:  engineRef(spec.Image),
		Cmd:    spec.Command,
		Env:    env,
		Labels: e.labels(spec),
		User:   spec.User,
	}
	var outDir string
	if e.tmpfsOutputs(ctx) {
		if outDir, err = e.makeOutputDir(dirName); err != nil {
			// The copy path is as safe, only slower.
			e.logger.Warn("docker: copying the output file instead", "container", name, "err", err)
		} else {
			defer starting.done(outDir)
		}
	}
	att := attempt{name: name, secrets: secrets, outDir: outDir}
	hostCfg, err := e.hostConfig(spec, secrets, outDir)
	if err != nil {
		e.startFailed(att)
		return nil, err
	}
	created, err := e.create(ctx, cfg, hostCfg, name, spec)
	if err != nil {
		e.startFailed(att)
		return nil, err
	}
	for _, w := range created.Warnings {
		e.logger.Warn("docker: create container", "container", name, "warning", w)
	}
	h := &executor.Handle{Executor: e.Name(), ID: created.ID, Dir: outDir}
	failpoint.Hit(failpoint.ContainerCreated)
	if outDir == "" {
		// A read-only root takes files only in its /baton volume.
		dst, tarball := "/", outputTar
		if spec.ReadOnlyRoot {
			dst, tarball = path.Dir(OutputPath), outputVolumeTar
		}
		err = e.cli.CopyToContainer(ctx, created.ID, dst, bytes.NewReader(tarball), container.CopyToContainerOptions{})
		if err != nil {
			e.startFailed(att)
			return h, fmt.Errorf("docker: create output file in %q: %w", name, err)
		}
	}
	if err := e.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		e.startFailed(att)
		return h, fmt.Errorf("docker: start container %q: %w", name, err)
	}
	e.logger.Debug("docker: started", "run_id", spec.RunID, "step", spec.Step,
		"attempt", spec.Attempt, "container", created.ID)
	return h, nil
}

// attempt is what Start made on the host for one attempt.
type attempt struct {
	name    string // the container's
	secrets string // the secrets directory, if any
	outDir  string // the tmpfs for /baton, if any
}

// startFailed removes the secrets and output directory of an attempt that
// will never run at once, rather than when the caller gets round to
// [Executor.Remove].
func (e *Executor) startFailed(a attempt) {
	if err := e.removeSecrets(a.secrets); err != nil {
		e.logger.Warn("docker: remove secrets", "container", a.name, "err", err)
	}
	if a.outDir == "" {
		return
	}
	if err := e.removeOutputDir(a.outDir); err != nil {
		e.logger.Warn("docker: remove output directory", "container", a.name, "err", err)
	}
}

// envList is the step's environment in a stable order, so that identical
// specs create identical containers, plus the paths of the output file and
// the secrets, which only the executor knows. The token's variables are
// the executor's too, and are dropped from the spec's environment.
func envList(env map[string]string) []string {
	list := make([]string, 0, len(env)+3)
	for k, v := range env {
		switch k {
		case executor.EnvOutput, executor.EnvSecretsDir, executor.EnvToken, executor.EnvTokenFile:
		default:
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
