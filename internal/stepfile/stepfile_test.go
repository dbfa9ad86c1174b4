package stepfile_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/stepfile"
)

// marker is what a file outside the step's directory holds; no error and
// no result may ever contain it.
const marker = "LEAKED=marker-7f3a9c"

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// hostile returns a step directory and a file outside it holding marker.
func hostile(t *testing.T) (dir, outside string) {
	t.Helper()
	base := t.TempDir()
	outside = filepath.Join(base, "admin.token")
	if err := os.WriteFile(outside, []byte(marker+"\nnot a variable "+marker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(base, "outputs", "attempt")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, outside
}

func TestReadRegular(t *testing.T) {
	t.Parallel()
	dir, _ := hostile(t)
	if err := os.WriteFile(filepath.Join(dir, "output"), []byte("a=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := stepfile.Read(ctx(t), dir, "output", 100)
	if err != nil || string(got) != "a=1\n" {
		t.Errorf("Read = %q, %v; want %q", got, err, "a=1\n")
	}
}

func TestReadMissing(t *testing.T) {
	t.Parallel()
	dir, _ := hostile(t)
	got, err := stepfile.Read(ctx(t), dir, "output", 100)
	if got != nil || err != nil {
		t.Errorf("Read of a missing file = %q, %v; want nil, nil", got, err)
	}
}

func TestReadBounded(t *testing.T) {
	t.Parallel()
	dir, _ := hostile(t)
	if err := os.WriteFile(filepath.Join(dir, "output"), bytes.Repeat([]byte("a"), 10000), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := stepfile.Read(ctx(t), dir, "output", 101)
	if err != nil || len(got) != 101 {
		t.Errorf("Read = %d bytes, %v; want 101 bytes", len(got), err)
	}
}

// TestReadRefused makes the output file everything but a regular file. Each
// is refused with ErrRefused, without blocking and without a word of what
// the file outside holds.
func TestReadRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// make turns path into the hostile file; outside holds the marker.
		make func(t *testing.T, path, outside string) error
		want string
	}{
		{"absolute symlink", func(t *testing.T, p, o string) error { return os.Symlink(o, p) }, "symbolic link"},
		{"relative symlink", func(t *testing.T, p, o string) error { return os.Symlink("../../admin.token", p) }, "symbolic link"},
		{"symlink to directory", func(t *testing.T, p, o string) error { return os.Symlink(filepath.Dir(o), p) }, "symbolic link"},
		{"dangling symlink", func(t *testing.T, p, o string) error { return os.Symlink("/baton-no-such-file", p) }, "symbolic link"},
		{"directory", func(t *testing.T, p, o string) error {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(p, "x"), []byte(marker), 0o600)
		}, "directory"},
		{"fifo", func(t *testing.T, p, o string) error { return syscall.Mkfifo(p, 0o600) }, "named pipe"},
		{"hard link", func(t *testing.T, p, o string) error { return os.Link(o, p) }, "hard links"},
		{"socket", func(t *testing.T, p, o string) error {
			ln, err := net.Listen("unix", p)
			if err == nil {
				t.Cleanup(func() { ln.Close() })
			}
			return err
		}, "socket"},
		{"device", func(t *testing.T, p, o string) error {
			// /dev/zero: read unbounded, it would never end.
			err := syscall.Mknod(p, syscall.S_IFCHR|0o600, 1<<8|5)
			if errors.Is(err, syscall.EPERM) {
				t.Skip("mknod needs CAP_MKNOD, which this test's user lacks")
			}
			return err
		}, "device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, outside := hostile(t)
			// Socket paths are short; the temp dir may be long.
			if tc.name == "socket" {
				d, err := os.MkdirTemp("", "sf")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(d) })
				dir = d
			}
			if err := tc.make(t, filepath.Join(dir, "output"), outside); err != nil {
				t.Fatal(err)
			}
			got, err := stepfile.Read(ctx(t), dir, "output", 1<<20)
			if !errors.Is(err, stepfile.ErrRefused) {
				t.Fatalf("Read = %q, %v; want an error wrapping ErrRefused", got, err)
			}
			if got != nil {
				t.Errorf("Read returned %q with its error", got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "marker") || strings.Contains(err.Error(), outside) {
				t.Errorf("err = %v quotes the file outside", err)
			}
		})
	}
}

func TestReadBadName(t *testing.T) {
	t.Parallel()
	dir, _ := hostile(t)
	for _, name := range []string{"", ".", "..", "../admin.token", "a/b"} {
		if _, err := stepfile.Read(ctx(t), dir, name, 100); err == nil {
			t.Errorf("Read(%q) succeeded, want an error", name)
		}
		if err := stepfile.RemoveAll(dir, name); err == nil {
			t.Errorf("RemoveAll(%q) succeeded, want an error", name)
		}
	}
}

func TestReadDirectoryIsLink(t *testing.T) {
	t.Parallel()
	_, outside := hostile(t)
	link := filepath.Join(t.TempDir(), "dir")
	if err := os.Symlink(filepath.Dir(outside), link); err != nil {
		t.Fatal(err)
	}
	if got, err := stepfile.Read(ctx(t), link, "admin.token", 100); err == nil {
		t.Errorf("Read through a linked directory = %q, want an error", got)
	}
}

// TestRemoveAllKeepsLinkTargets replaces a step's directory contents with
// links to files outside; removing the directory removes the links only.
func TestRemoveAllKeepsLinkTargets(t *testing.T) {
	t.Parallel()
	dir, outside := hostile(t)
	parent := filepath.Dir(dir)
	for name, target := range map[string]string{"abs": outside, "rel": "../../admin.token", "dir": filepath.Dir(outside)} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := stepfile.RemoveAll(parent, filepath.Base(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory after RemoveAll: %v, want it gone", err)
	}
	if b, err := os.ReadFile(outside); err != nil || !strings.Contains(string(b), marker) {
		t.Errorf("file outside after RemoveAll: %q, %v; want it intact", b, err)
	}
	// Removing what is gone is not an error.
	if err := stepfile.RemoveAll(parent, filepath.Base(dir)); err != nil {
		t.Errorf("second RemoveAll: %v", err)
	}
}

// FuzzRead writes arbitrary content and reads it back through a bound: the
// result is always the content's first limit bytes.
func FuzzRead(f *testing.F) {
	for _, s := range []string{"", "a=1\n", "x<<EOF\n\x00\xff\nEOF\n", strings.Repeat("z", 5000)} {
		f.Add([]byte(s), int64(len(s)))
		f.Add([]byte(s), int64(3))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, limit int64) {
		if limit < 0 {
			limit = -limit
		}
		limit %= 1 << 16
		name := "output"
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := stepfile.Read(context.Background(), dir, name, limit)
		if err != nil {
			t.Fatal(err)
		}
		want := data[:min(int64(len(data)), limit)]
		if !bytes.Equal(got, want) {
			t.Fatalf("Read(limit %d) = %d bytes, want %d", limit, len(got), len(want))
		}
	})
}
