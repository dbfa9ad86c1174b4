package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"golang.org/x/sys/unix"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/stepfile"
)

// Wait implements [executor.Executor]. It works as well for a container that
// exited long ago, as long as it has not been removed.
func (e *Executor) Wait(ctx context.Context, h *executor.Handle) (*executor.Result, error) {
	waitC, errC := e.cli.ContainerWait(ctx, h.ID, container.WaitConditionNotRunning)
	select {
	case <-waitC:
	case err := <-errC:
		return nil, e.wrap("wait for", h, err)
	}
	info, err := e.cli.ContainerInspect(ctx, h.ID)
	if err != nil {
		return nil, e.wrap("inspect", h, err)
	}
	if info.State.Status == "created" {
		return nil, fmt.Errorf("docker: container %s: %w", h.ID, executor.ErrNeverStarted)
	}
	r := &executor.Result{ExitCode: info.State.ExitCode, OOMKilled: info.State.OOMKilled}
	if r.FinishedAt, err = time.Parse(time.RFC3339Nano, info.State.FinishedAt); err != nil {
		return nil, fmt.Errorf("docker: container %s: finished at %q: %w", h.ID, info.State.FinishedAt, err)
	}
	if e.tmpfsHandle(h, info.Name) {
		r.Output, r.OutputError = readOutputDir(ctx, h.Dir)
	} else if r.Output, r.OutputError, err = CopyOutput(ctx, e.cli, h.ID); err != nil {
		return nil, err
	}
	r.ImageDigest = e.imageDigest(ctx, info.Image, info.Config.Image)
	return r, nil
}

// imageDigest names the image a container ran by content: the registry's
// digest (repo@sha256:…) when the engine knows one, preferably for the
// repository the step named, else the engine's image ID (sha256:…), which
// is local to the engine but still identifies the content.
func (e *Executor) imageDigest(ctx context.Context, id, ref string) string {
	img, err := e.cli.ImageInspect(ctx, id)
	if err != nil || len(img.RepoDigests) == 0 {
		return id
	}
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		for _, d := range img.RepoDigests {
			if dn, err := reference.ParseNormalizedNamed(d); err == nil && dn.Name() == named.Name() {
				return d
			}
		}
	}
	return img.RepoDigests[0]
}

// tmpfsHandle says h's output file is on the attempt's tmpfs, not in the
// container: h names a directory baton made for it, and not one of an
// earlier version's directories, which were named after the container and
// read by copying.
func (e *Executor) tmpfsHandle(h *executor.Handle, container string) bool {
	return h.Dir != "" && e.ownsOutputDir(h.Dir) && filepath.Base(h.Dir) != strings.TrimPrefix(container, "/")
}

// readOutputDir reads the output file on an attempt's tmpfs through
// [stepfile.Read]: no link is followed, only a regular file with one link
// is read, at most one byte past what the contract accepts, and the read
// ends with ctx or [readTimeout]. A directory that is no longer a mount
// point lost the file (the machine restarted, and the tmpfs with it): that
// fails the attempt rather than pass for a step that wrote nothing.
func readOutputDir(ctx context.Context, dir string) (out []byte, refused error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	if err := isMountPoint(dir); err != nil {
		return nil, fmt.Errorf("output file: %s (%s) is lost: %w; run the step again", executor.EnvOutput, OutputPath, err)
	}
	name := path.Base(OutputPath)
	out, err := stepfile.Read(ctx, dir, name, contract.MaxInputBytes+1)
	switch {
	case errors.Is(err, stepfile.ErrRefused):
		return nil, refusedOutput(refusedKind(filepath.Join(dir, name)))
	case err != nil:
		return nil, fmt.Errorf("output file: %s (%s): %w", executor.EnvOutput, OutputPath, err)
	case len(out) == 0:
		return nil, nil
	}
	return out, nil
}

// refusedKind names what [stepfile.Read] refused, from the file's own
// metadata: nothing is opened or followed.
func refusedKind(file string) string {
	fi, err := os.Lstat(file)
	switch {
	case err != nil:
		return "is not a regular file"
	case fi.Mode().IsRegular():
		return "has other hard links"
	}
	return fileKind(fi.Mode())
}

// isMountPoint checks that dir is still the root of a mount, as baton left
// it: on a different device from its parent.
func isMountPoint(dir string) error {
	var st, parent unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("the directory baton made for it is gone (%w)", err)
	}
	if err := unix.Lstat(filepath.Dir(dir), &parent); err != nil {
		return fmt.Errorf("the directory baton made for it is gone (%w)", err)
	}
	if st.Dev == parent.Dev {
		return errors.New("the tmpfs baton mounted for it is gone, as after a restart of the machine")
	}
	return nil
}

// Stop implements [executor.Executor]: the engine sends the image's stop
// signal (SIGTERM by default), then SIGKILL after grace, rounded up to whole
// seconds.
func (e *Executor) Stop(ctx context.Context, h *executor.Handle, grace time.Duration) error {
	secs := int(math.Ceil(grace.Seconds()))
	if err := e.cli.ContainerStop(ctx, h.ID, container.StopOptions{Timeout: &secs}); err != nil {
		return e.wrap("stop", h, err)
	}
	return nil
}

// Remove implements [executor.Executor]. A running container is killed. The
// attempt's secrets and its /baton tmpfs go first, found through the
// container's mounts, so that a Remove that fails half-way can be retried
// without losing track of them; the tmpfs named in the handle goes too, so
// that one a crash left mounted after its container went is not lost. No
// link in it is followed.
func (e *Executor) Remove(ctx context.Context, h *executor.Handle) error {
	info, err := e.cli.ContainerInspect(ctx, h.ID)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return e.wrap("inspect", h, err)
	}
	if err == nil {
		for _, m := range info.Mounts {
			var err error
			switch {
			case m.Destination == executor.SecretsDir:
				err = e.removeSecrets(m.Source)
			case m.Destination == path.Dir(OutputPath) && m.Type == mount.TypeBind:
				err = e.removeOutputDir(m.Source)
			}
			if err != nil {
				return fmt.Errorf("%w (container %s)", err, h.ID)
			}
		}
	}
	err = e.cli.ContainerRemove(ctx, h.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return e.wrap("remove", h, err)
	}
	// Earlier versions bind-mounted <data-dir>/outputs/<container>, on
	// disk, and kept it in the handle too.
	if h.Dir != "" {
		if err := e.removeAttemptDirs(h.Dir); err != nil {
			return fmt.Errorf("%w (container %s)", err, h.ID)
		}
	}
	return nil
}

// wrap maps the engine's "no such container" to [executor.ErrNotFound].
func (e *Executor) wrap(op string, h *executor.Handle, err error) error {
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: %s container %s: %w (%v)", op, h.ID, executor.ErrNotFound, err)
	}
	return fmt.Errorf("docker: %s container %s: %w", op, h.ID, err)
}
