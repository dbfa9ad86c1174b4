// Package dockertest builds the container images baton's tests run, without a
// registry: a busybox image is imported from the host's static busybox. Tests
// that need Docker call [Client] or [BusyboxImage]; both skip the test when no
// engine answers, unless BATON_TEST_DOCKER=1, in which case they fail it.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// Busybox is the tag [BusyboxImage] imports.
const Busybox = "baton-test/busybox:latest"

// version marks what the image contains; bump it when applets or layout
// change, so that engines holding an older image get the new one.
const (
	versionLabel = "dev.baton.dockertest.version"
	version      = "3"
)

// busyboxPath is the statically linked busybox the image is built from
// (Debian's busybox-static package).
const busyboxPath = "/bin/busybox"

// applets are linked into /bin so that the image has a usable shell.
var applets = []string{
	"sh", "echo", "cat", "sleep", "env", "printf", "wget", "test", "[", "true",
	"false", "ls", "mkdir", "rm", "head", "tail", "tr", "wc", "id", "kill",
	"nc", "seq", "grep", "sed", "touch", "date", "yes", "stat",
	"timeout", "awk", "cut", "sort", "uniq", "xargs", "basename", "dirname",
	"ln", "mkfifo", "mknod", "chmod", "dd", "base64",
}

// Client returns a client for the engine from the environment (DOCKER_HOST
// and friends), closed when the test ends.
func Client(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err = cli.Ping(ctx); err != nil {
			cli.Close()
		}
	}
	if err != nil {
		if os.Getenv("BATON_TEST_DOCKER") == "1" {
			t.Fatalf("docker engine required (BATON_TEST_DOCKER=1): %v", err)
		}
		t.Skipf("docker engine unavailable (set BATON_TEST_DOCKER=1 to fail instead): %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

var imported sync.Mutex // serializes imports within this process

// BusyboxImage makes sure [Busybox] exists in the engine and returns its tag.
// It is safe to call from parallel tests and from test binaries of several
// packages at once.
func BusyboxImage(t testing.TB) string {
	t.Helper()
	cli := Client(t)
	if err := ensureBusybox(cli); err != nil {
		t.Fatalf("dockertest: %v", err)
	}
	return Busybox
}

func ensureBusybox(cli *client.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if ok, err := exists(ctx, cli); ok || err != nil {
		return err
	}
	imported.Lock()
	defer imported.Unlock()
	// Test binaries of other packages may import at the same time; a file
	// lock keeps them from retagging the image under each other's feet.
	unlock, err := lockFile(filepath.Join(os.TempDir(), "baton-dockertest.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := exists(ctx, cli); ok || err != nil {
		return err
	}
	rootfs, err := busyboxRootfs()
	if err != nil {
		return err
	}
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"},
		Busybox, image.ImportOptions{Changes: []string{
			"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			`CMD ["sh"]`,
			"LABEL " + versionLabel + "=" + version,
		}})
	if err != nil {
		return fmt.Errorf("import %s: %w", Busybox, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("import %s: %w", Busybox, err)
	}
	if ok, err := exists(ctx, cli); !ok && err == nil {
		return fmt.Errorf("import %s: image missing or outdated after import", Busybox)
	}
	return nil
}

// exists reports whether the current version of the image is on the engine.
func exists(ctx context.Context, cli *client.Client) (bool, error) {
	info, err := cli.ImageInspect(ctx, Busybox)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", Busybox, err)
	}
	return info.Config != nil && info.Config.Labels[versionLabel] == version, nil
}

// busyboxRootfs returns a tar of a root filesystem with busybox, its applets
// and a /tmp.
func busyboxRootfs() ([]byte, error) {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read busybox (install busybox-static): %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	hdrs := []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))},
	}
	for _, h := range hdrs {
		h.ModTime = now
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bin); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range applets {
		h := &tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: now}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
