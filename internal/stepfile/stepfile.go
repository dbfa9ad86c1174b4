// Package stepfile reads and removes files in directories a step can write,
// such as the process executor's scratch directory. A step controls
// everything there, so every name is treated as hostile: it is opened
// without following links, only a regular file is read, the read is bounded
// in size and time, and no error ever quotes what such a file holds.
package stepfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrRefused is wrapped by [Read] errors for a file that is there but was
// not read: a link, a directory, a pipe, a device, a socket, or a file with
// other hard links. The message says which, and nothing of its content.
var ErrRefused = errors.New("not a plain file")

// ErrTimeout is wrapped by [Read] errors when opening or reading the file
// took longer than the caller's context allowed.
var ErrTimeout = errors.New("reading took too long")

// Read returns the content of the file name directly in dir, at most limit
// bytes of it: callers that must tell a file over a limit from one at it
// pass one byte more than they accept. A missing file is (nil, nil).
//
// The file is opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
// RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV) and O_NOFOLLOW|O_NONBLOCK, so a
// symbolic link is refused rather than followed and a pipe cannot block the
// open; fstat on the opened handle then refuses anything but a regular file
// with a single link, so a hard link to a file elsewhere is not read
// either. The open and the read end when ctx does, whatever the file is
// backed by.
//
// name must be a single path component. dir is trusted: it is baton's own
// directory, whose parents the step cannot change.
func Read(ctx context.Context, dir, name string, limit int64) ([]byte, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, fmt.Errorf("stepfile: %q is not a file name", name)
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := read(dir, name, limit)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		// The goroutine ends with the read, which a hung file system may
		// hold; the caller does not wait for it.
		return nil, fmt.Errorf("stepfile: %s: %w (%v)", name, ErrTimeout, ctx.Err())
	}
}

func read(dir, name string, limit int64) ([]byte, error) {
	f, err := open(dir, name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		return nil, fmt.Errorf("stepfile: read %s: %w", name, errnoErr(err))
	}
	return data, nil
}

// open opens dir/name for reading and checks, on the open handle, that it
// is a regular file with no other hard links.
func open(dir, name string) (*os.File, error) {
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("stepfile: open directory %s: %w", dir, errnoErr(err))
	}
	defer unix.Close(dfd)
	const flags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY
	fd, err := unix.Openat2(dfd, name, &unix.OpenHow{
		Flags:   flags,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		// Kernels before 5.6, or a seccomp filter that hides openat2: for a
		// single component, O_NOFOLLOW alone refuses a link.
		fd, err = unix.Openat(dfd, name, flags, 0)
	}
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, os.ErrNotExist
	case errors.Is(err, unix.ELOOP):
		return nil, refused(name, "is a symbolic link")
	case errors.Is(err, unix.EXDEV):
		return nil, refused(name, "is a mount point")
	case errors.Is(err, unix.ENXIO), errors.Is(err, unix.EOPNOTSUPP):
		return nil, refused(name, "is a socket")
	case err != nil:
		return nil, fmt.Errorf("stepfile: open %s: %w", name, errnoErr(err))
	}
	f := os.NewFile(uintptr(fd), name)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stepfile: stat %s: %w", name, errnoErr(err))
	}
	if what := kind(st.Mode); what != "" {
		f.Close()
		return nil, refused(name, what)
	}
	if st.Nlink > 1 {
		f.Close()
		return nil, refused(name, "has other hard links")
	}
	return f, nil
}

// kind says what a file that is not regular is, or "" for a regular file.
func kind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return ""
	case unix.S_IFDIR:
		return "is a directory"
	case unix.S_IFIFO:
		return "is a named pipe"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "is a device"
	case unix.S_IFSOCK:
		return "is a socket"
	case unix.S_IFLNK:
		return "is a symbolic link"
	}
	return "is not a regular file"
}

func refused(name, what string) error {
	return fmt.Errorf("stepfile: %s %s: %w", name, what, ErrRefused)
}

// errnoErr keeps only the errno of a failed system call, which says nothing
// of a file's content.
func errnoErr(err error) error {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return err
}

// RemoveAll removes name, directly in dir, and everything under it, without
// following any link: a link is removed, never what it points to. A missing
// name is not an error.
func RemoveAll(dir, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return fmt.Errorf("stepfile: %q is not a file name", name)
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stepfile: %w", err)
	}
	defer root.Close()
	if err := root.RemoveAll(name); err != nil {
		return fmt.Errorf("stepfile: %w", err)
	}
	return nil
}
