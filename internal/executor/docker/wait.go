package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/executor"
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
	if r.Output, err = e.readOutput(ctx, h); err != nil {
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

// readOutput copies the output file out of the container; a step that
// deleted it wrote no output.
func (e *Executor) readOutput(ctx context.Context, h *executor.Handle) ([]byte, error) {
	if h.Dir != "" {
		out, err := readLimited(filepath.Join(h.Dir, path.Base(OutputPath)))
		if err != nil || len(out) == 0 {
			return nil, err
		}
		return out, nil
	}
	rc, _, err := e.cli.CopyFromContainer(ctx, h.ID, OutputPath)
	if cerrdefs.IsNotFound(err) {
		// Either the file or the whole container is gone; only the latter is
		// an error.
		if _, ierr := e.cli.ContainerInspect(ctx, h.ID); ierr != nil {
			return nil, e.wrap("inspect", h, ierr)
		}
		return nil, nil
	}
	if err != nil {
		return nil, e.wrap("copy output from", h, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("docker: read output of %s: %w", h.ID, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("docker: output of %s: %s is not a regular file", h.ID, OutputPath)
	}
	out, err := io.ReadAll(io.LimitReader(tr, contract.MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("docker: read output of %s: %w", h.ID, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// readLimited reads an output file written on the host, at most one byte
// past what the contract accepts, so an enormous file is refused, not loaded.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("docker: read output: %w", err)
	}
	defer f.Close()
	out, err := io.ReadAll(io.LimitReader(f, contract.MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("docker: read output: %w", err)
	}
	return out, nil
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
// attempt's secrets go first, found through the container's mounts, so that
// a Remove that fails half-way can be retried without losing track of them.
func (e *Executor) Remove(ctx context.Context, h *executor.Handle) error {
	info, err := e.cli.ContainerInspect(ctx, h.ID)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return e.wrap("inspect", h, err)
	}
	if err == nil {
		for _, m := range info.Mounts {
			if m.Destination == executor.SecretsDir {
				if err := e.removeSecrets(m.Source); err != nil {
					return fmt.Errorf("%w (container %s)", err, h.ID)
				}
			}
		}
	}
	err = e.cli.ContainerRemove(ctx, h.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return e.wrap("remove", h, err)
	}
	if h.Dir != "" {
		if err := os.RemoveAll(h.Dir); err != nil {
			return fmt.Errorf("docker: remove output directory of %s: %w", h.ID, err)
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
