package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/executor"
)

// readTimeout bounds reading the output file of an exited container.
const readTimeout = 2 * time.Minute

// CopyOutput copies [OutputPath] out of an exited container through its
// engine, which resolves the path inside the container, never on a host.
// A step that deleted the file, or left it empty, wrote no output (nil,
// nil, nil); one that made it anything but a regular file gets a refusal
// that quotes nothing of it. At most one byte past what the contract
// accepts is read, so an enormous file is refused, not loaded. Executors
// on Docker engines share it; a container that is gone is an error that
// wraps [executor.ErrNotFound].
//
// The file is looked at first (a stat, a few milliseconds) and copied
// only when it is a regular file that holds something: on Docker 20.10
// a copy was measured at some 100 ms against 5–7 ms for the stat, and
// many steps write no output file. Nothing runs in an exited container to
// change the file between the two.
func CopyOutput(ctx context.Context, cli client.APIClient, id string) (out []byte, refused, err error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	stat, err := cli.ContainerStatPath(ctx, id, OutputPath)
	if err == nil && !stat.Mode.IsRegular() {
		return nil, refusedOutput(fileKind(stat.Mode)), nil
	}
	if err == nil && stat.Size == 0 {
		return nil, nil, nil
	}
	var rc io.ReadCloser
	if err == nil {
		rc, stat, err = cli.CopyFromContainer(ctx, id, OutputPath)
	}
	if cerrdefs.IsNotFound(err) {
		// Either the file or the whole container is gone; only the latter is
		// an error.
		if _, ierr := cli.ContainerInspect(ctx, id); ierr != nil {
			if cerrdefs.IsNotFound(ierr) {
				return nil, nil, fmt.Errorf("docker: container %s: %w", id, executor.ErrNotFound)
			}
			return nil, nil, fmt.Errorf("docker: inspect container %s: %w", id, ierr)
		}
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("docker: copy output from container %s: %w", id, err)
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	if !stat.Mode.IsRegular() {
		return nil, refusedOutput(fileKind(stat.Mode)), nil
	}
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if errors.Is(err, io.EOF) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, readErr(ctx, id, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, refusedOutput(fileKind(hdr.FileInfo().Mode())), nil
	}
	out, err = io.ReadAll(io.LimitReader(tr, contract.MaxInputBytes+1))
	if err != nil {
		return nil, nil, readErr(ctx, id, err)
	}
	if len(out) == 0 {
		return nil, nil, nil
	}
	return out, nil, nil
}

// readErr reports a failed copy without anything the stream held.
func readErr(ctx context.Context, id string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("docker: read output of container %s: %w", id, err)
}

// refusedOutput is the [executor.Result.OutputError] of an output file that
// is not a regular file.
func refusedOutput(what string) error {
	return fmt.Errorf("output file: %s (%s) %s, not a plain file; write the outputs into the file itself", executor.EnvOutput, OutputPath, what)
}

// fileKind names what a file that is not regular is.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "is a symbolic link"
	case m.IsDir():
		return "is a directory"
	case m&fs.ModeNamedPipe != 0:
		return "is a named pipe"
	case m&fs.ModeDevice != 0 || m&fs.ModeCharDevice != 0:
		return "is a device"
	case m&fs.ModeSocket != 0:
		return "is a socket"
	}
	return "is not a regular file"
}
