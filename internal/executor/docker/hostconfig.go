package docker

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/baton-dev/baton/internal/executor"
)

// DefaultPIDs is the process limit of a container when neither the step nor
// [Options.DefaultLimits] sets one: enough for any build, few enough that a
// fork bomb stays inside its container.
const DefaultPIDs = 512

// Docker's own log of a container is bounded: baton keeps its own masked
// copy of what a step prints, so the engine needs only enough to feed it.
// Without a bound, a noisy step fills the engine's disk with an unmasked
// log.
const (
	logDriver   = "json-file"
	logMaxSize  = "16m"
	logMaxFiles = "2"
)

// tmpOptions mount a fresh /tmp in every container, so that steps on
// read-only images, or with [executor.Spec.ReadOnlyRoot], still have
// scratch space. It counts against the container's memory limit.
const tmpOptions = "rw,nosuid,nodev,mode=1777"

// hostConfig is the engine-side configuration every container gets. The
// security settings are not options: all capabilities are dropped and only
// spec.CapAdd come back, privileges cannot be regained through setuid
// binaries, no namespace is shared with the host, and Docker's own log is
// bounded. secrets is the attempt's secrets directory ("" with an engine
// on another machine), outDir its tmpfs for /baton ("" on the copy path).
func (e *Executor) hostConfig(spec *executor.Spec, secrets, outDir string) (*container.HostConfig, error) {
	caps, err := capAdd(spec.CapAdd)
	if err != nil {
		return nil, err
	}
	limits := e.limits(spec.Limits)
	mounts, err := e.mounts(spec, secrets, outDir)
	if err != nil {
		return nil, err
	}
	return &container.HostConfig{
		ExtraHosts:     e.extraHosts,
		Privileged:     false,
		CapDrop:        []string{"ALL"},
		CapAdd:         caps,
		SecurityOpt:    []string{"no-new-privileges:true"},
		ReadonlyRootfs: spec.ReadOnlyRoot,
		// Namespaces: private, whatever the engine's defaults say.
		IpcMode:      container.IPCModePrivate,
		CgroupnsMode: container.CgroupnsModePrivate,
		Tmpfs:        map[string]string{"/tmp": tmpOptions},
		Mounts:       mounts,
		LogConfig: container.LogConfig{
			Type:   logDriver,
			Config: map[string]string{"max-size": logMaxSize, "max-file": logMaxFiles},
		},
		Resources: container.Resources{
			PidsLimit: &limits.PIDs,
			Memory:    limits.MemoryBytes,
			NanoCPUs:  limits.NanoCPUs,
		},
	}, nil
}

// limits fills the fields the step leaves zero from the executor's defaults.
func (e *Executor) limits(l executor.Limits) executor.Limits {
	if l.PIDs == 0 {
		l.PIDs = e.defaults.PIDs
	}
	if l.MemoryBytes == 0 {
		l.MemoryBytes = e.defaults.MemoryBytes
	}
	if l.NanoCPUs == 0 {
		l.NanoCPUs = e.defaults.NanoCPUs
	}
	return l
}

// mounts are the attempt's secrets and its /baton: on the fast path the
// attempt's own capped tmpfs, the only host directory mounted writable;
// on the copy path, with a read-only root, an anonymous volume, since the
// engine refuses to copy files into a read-only root file system but not
// into a volume, and the volume goes with the container.
func (e *Executor) mounts(spec *executor.Spec, secrets, outDir string) ([]mount.Mount, error) {
	var ms []mount.Mount
	switch {
	case outDir != "":
		ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: outDir, Target: path.Dir(OutputPath)})
	case spec.ReadOnlyRoot:
		ms = append(ms, mount.Mount{Type: mount.TypeVolume, Target: path.Dir(OutputPath)})
	}
	if secrets != "" {
		ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: secrets, Target: executor.SecretsDir, ReadOnly: true})
	}
	for _, m := range ms {
		if m.Type != mount.TypeBind {
			continue
		}
		if err := e.checkBindSource(m.Source); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// checkBindSource refuses to bind-mount the engine's socket, or a directory
// holding it, into a container: whoever holds the socket is root on the
// host. Baton only binds directories it made itself, so this guards against
// a misconfigured [Options.SecretsDir] or [Options.OutputDir].
func (e *Executor) checkBindSource(src string) error {
	resolved, err := filepath.EvalSymlinks(src)
	if err != nil {
		return fmt.Errorf("docker: bind mount %s: %w", src, err)
	}
	refuse := func(why string) error {
		return fmt.Errorf("docker: refusing to bind-mount %s into a container: %s; point the secrets or output directory elsewhere", src, why)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return fmt.Errorf("docker: bind mount %s: %w", src, err)
	}
	if fi.Mode()&os.ModeSocket != 0 || filepath.Base(resolved) == "docker.sock" {
		return refuse("it is a socket")
	}
	for _, sock := range e.socketPaths() {
		if rel, err := filepath.Rel(resolved, sock); err == nil && !strings.HasPrefix(rel, "..") {
			return refuse("it contains the Docker socket " + sock)
		}
	}
	return nil
}

// socketPaths are where the engine's socket may be found on this machine.
func (e *Executor) socketPaths() []string {
	paths := []string{"/var/run/docker.sock", "/run/docker.sock"}
	if host, ok := strings.CutPrefix(e.cli.DaemonHost(), "unix://"); ok {
		paths = append(paths, host)
	}
	for i, p := range paths {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			paths[i] = r
		}
	}
	return paths
}

// capAdd validates capability names; see [executor.Capabilities].
func capAdd(names []string) ([]string, error) {
	caps, err := executor.Capabilities(names)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	return caps, nil
}
