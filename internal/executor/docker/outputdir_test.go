package docker_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/executor/executortest"
)

// outputCap is the size of each attempt's /baton tmpfs.
const outputCap = 2 << 20

// newTmpfsExecutor returns an executor whose attempts each get a tmpfs at
// /baton, mounted under the returned output root. It skips the test where
// the fast path cannot work (not root), and fails it where it should (root
// on a local engine). When the test ends, after its Remove calls, anything
// still mounted under the root fails it.
func newTmpfsExecutor(t *testing.T) (*docker.Executor, string) {
	t.Helper()
	e, root, fast := buildExecutor(t)
	if !fast {
		t.Skip("the tmpfs fast path needs the right to mount, which this test's user lacks")
	}
	return e, root
}

// buildExecutor returns an executor with an output root, and whether its
// attempts get a tmpfs: they must when the tests run as root.
func buildExecutor(t *testing.T) (*docker.Executor, string, bool) {
	t.Helper()
	dockertest.Client(t) // skips without an engine
	root := filepath.Join(t.TempDir(), "outputs")
	e, err := docker.New(docker.Options{SecretsDir: executortest.SecretsDir(t), OutputDir: root, Logger: warnFails(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	t.Cleanup(func() { noMountsLeft(t, root) })
	fast := e.TmpfsOutputs(ctx(t))
	if !fast && os.Geteuid() == 0 {
		t.Fatal("attempts get no tmpfs, though the tests run as root on a local engine")
	}
	return e, root, fast
}

// warnFails is a logger that fails the test on any warning about output
// files: a fast-path attempt that fell back to copying, or an output
// directory that could not be removed.
func warnFails(t *testing.T) *slog.Logger {
	return slog.New(warnHandler{t})
}

type warnHandler struct{ t *testing.T }

func (h warnHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h warnHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h warnHandler) WithGroup(string) slog.Handler                { return h }

func (h warnHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "output") {
		var attrs []string
		r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a.String()); return true })
		h.t.Errorf("executor warned: %s %s", r.Message, strings.Join(attrs, " "))
	}
	return nil
}

// mountsUnder lists the mount points at or below dir.
func mountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mps []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			if mp := unescapeMountinfo(f[4]); mp == dir || strings.HasPrefix(mp, dir+"/") {
				mps = append(mps, mp)
			}
		}
	}
	return mps
}

// unescapeMountinfo undoes the \ooo escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountOptions returns the mount and super options of the mount at dir.
func mountOptions(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && unescapeMountinfo(f[4]) == dir {
			return line
		}
	}
	t.Fatalf("%s is not mounted", dir)
	return ""
}

// noMountsLeft fails the test if anything is mounted under root, and
// unmounts it so that the test's temporary directory can go.
func noMountsLeft(t *testing.T, root string) {
	t.Helper()
	left := mountsUnder(t, root)
	if len(left) > 0 {
		t.Errorf("still mounted after Remove: %q", left)
	}
	for _, mp := range left {
		_ = unix.Unmount(mp, unix.MNT_DETACH)
	}
}

// TestTmpfsOutput checks the fast path's /baton: the attempt's own tmpfs,
// capped, bind-mounted writable, on which no program runs; the host reads
// the output file from it, and Remove unmounts and removes it.
func TestTmpfsOutput(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e, root := newTmpfsExecutor(t)
	s := spec(t, image, "sh", "-c", `echo a=1 > "$BATON_OUTPUT"
		printf '#!/bin/sh\nexit 0\n' > /baton/prog && chmod +x /baton/prog || exit 10
		/baton/prog; echo "exec=$?" >> "$BATON_OUTPUT"`)
	h, r := run(t, e, s)
	if r.ExitCode != 0 || r.OutputError != nil {
		t.Fatalf("exit %d, OutputError %v; want 0 and none (10: /baton not writable)", r.ExitCode, r.OutputError)
	}
	if got := string(r.Output); got != "a=1\nexec=126\n" {
		t.Errorf("output = %q, want a=1 and exec=126 (no program runs from /baton)", got)
	}
	if filepath.Dir(h.Dir) != root {
		t.Fatalf("handle Dir = %q, want a directory in %s", h.Dir, root)
	}
	info := inspect(t, h)
	i := slices.IndexFunc(info.Mounts, func(m container.MountPoint) bool { return m.Destination == "/baton" })
	if i < 0 || info.Mounts[i].Source != h.Dir || !info.Mounts[i].RW {
		t.Errorf("mounts = %+v, want %s bind-mounted writable at /baton", info.Mounts, h.Dir)
	}
	line := mountOptions(t, h.Dir)
	for _, want := range []string{"nosuid", "nodev", "noexec", " - tmpfs ", "size=2048k", "nr_inodes=16"} {
		if !strings.Contains(line, want) {
			t.Errorf("mountinfo line %q lacks %q", line, want)
		}
	}
	var fsst unix.Statfs_t
	if err := unix.Statfs(h.Dir, &fsst); err != nil {
		t.Fatal(err)
	}
	if size := int64(fsst.Blocks) * fsst.Bsize; size != outputCap {
		t.Errorf("tmpfs size = %d, want %d", size, outputCap)
	}
	if err := e.Remove(ctx(t), h); err != nil {
		t.Fatal(err)
	}
	if left := mountsUnder(t, root); len(left) != 0 {
		t.Errorf("mounted after Remove: %q", left)
	}
	if _, err := os.Lstat(h.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output directory after Remove: %v, want it gone", err)
	}
}

// TestCopyOutputHasNoMount checks that the copy path mounts nothing of the
// host at /baton.
func TestCopyOutputHasNoMount(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newCopyExecutor(t)
	h, r := run(t, e, spec(t, image, "sh", "-c", `echo a=1 > "$BATON_OUTPUT"`))
	if string(r.Output) != "a=1\n" || h.Dir != "" {
		t.Errorf("output %q, handle Dir %q; want a=1 and no directory", r.Output, h.Dir)
	}
	for _, m := range inspect(t, h).Mounts {
		if m.Destination == "/baton" {
			t.Errorf("/baton is mounted from %s on the copy path", m.Source)
		}
	}
}

// TestOutputDirFull has a step write 100 MB into /baton: it cannot write
// past the tmpfs's cap, and says the device is full; the data dir holds no
// more than the cap meanwhile, and none of it on the data dir's own disk.
func TestOutputDirFull(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e, root := newTmpfsExecutor(t)
	h, r := run(t, e, spec(t, image, "dd", "if=/dev/zero", "of=/baton/fill", "bs=1M", "count=100"))
	if r.ExitCode == 0 {
		t.Error("writing 100 MB to /baton succeeded")
	}
	var logs strings.Builder
	if err := e.FollowLogs(ctx(t), h, func(l executor.LogLine) { logs.WriteString(l.Text + "\n") }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "No space left on device") {
		t.Errorf("logs = %q, want the step told its output dir is full", logs.String())
	}
	// While the tmpfs is still mounted, with the fill in it.
	var total int64
	err := filepath.WalkDir(filepath.Dir(root), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		total += st.Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > outputCap+64<<10 {
		t.Errorf("data dir holds %d bytes after the fill, want at most the %d-byte cap", total, outputCap)
	}
	fi, err := os.Lstat(filepath.Join(h.Dir, "fill"))
	if err != nil || fi.Size() > outputCap || fi.Size() < outputCap/2 {
		t.Errorf("fill = %v, %v; want it cut at the cap, %d bytes", fi, err, outputCap)
	}
	var dirSt, rootSt unix.Stat_t
	if err := unix.Lstat(h.Dir, &dirSt); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lstat(root, &rootSt); err != nil {
		t.Fatal(err)
	}
	if dirSt.Dev == rootSt.Dev {
		t.Error("the attempt's directory is on the data dir's file system, not its own tmpfs")
	}
}

// TestRemoveAfterCrash leaves an attempt's tmpfs mounted with its container
// gone, as a crash between the two does: Remove, with the handle's Dir,
// unmounts and removes it, and again is no error.
func TestRemoveAfterCrash(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	e, root := newTmpfsExecutor(t)
	h, err := e.Start(ctx(t), spec(t, image, "sleep", "300"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerRemove(ctx(t), h.ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if left := mountsUnder(t, root); !slices.Equal(left, []string{h.Dir}) {
		t.Fatalf("mounted with the container gone: %q, want %s", left, h.Dir)
	}
	for i := range 2 {
		if err := e.Remove(ctx(t), h); err != nil {
			t.Fatalf("Remove %d: %v", i+1, err)
		}
	}
	if left := mountsUnder(t, root); len(left) != 0 {
		t.Errorf("mounted after Remove: %q", left)
	}
	if _, err := os.Lstat(h.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output directory after Remove: %v, want it gone", err)
	}
}

// TestLeftoverSwept makes what a crash between mounting an attempt's tmpfs
// and creating its container leaves: a mounted directory no container
// uses, holding links out. ListOwned, as the reaper calls it, unmounts and
// removes it without following the links, and leaves the tmpfs of a
// running attempt alone.
func TestLeftoverSwept(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e, root := newTmpfsExecutor(t)
	target := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	live, err := e.Start(ctx(t), spec(t, image, "sh", "-c", `sleep 2; echo a=1 > "$BATON_OUTPUT"`))
	if live != nil {
		t.Cleanup(func() { _ = e.Remove(context.Background(), live) })
	}
	if err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(root, "baton-run-step-1-0123456789abcdef")
	if err := os.Mkdir(left, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", left, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=2m"); err != nil {
		t.Fatal(err)
	}
	for name, to := range map[string]string{"output": target, "dir": filepath.Dir(target)} {
		if err := os.Symlink(to, filepath.Join(left, name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.ListOwned(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := mountsUnder(t, root); !slices.Equal(got, []string{live.Dir}) {
		t.Errorf("mounted after ListOwned: %q, want only the running attempt's %s", got, live.Dir)
	}
	if _, err := os.Lstat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("leftover after ListOwned: %v, want it gone", err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "keep" {
		t.Errorf("link target after the sweep: %q, %v; want it intact", b, err)
	}
	r, err := e.Wait(ctx(t), live)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Output) != "a=1\n" || r.OutputError != nil {
		t.Errorf("running attempt's output after the sweep = %q, %v; want a=1", r.Output, r.OutputError)
	}
}

// TestTmpfsLost unmounts an exited attempt's tmpfs before Wait, as a
// restart of the machine does: the attempt fails with its output lost,
// rather than pass for one that wrote nothing.
func TestTmpfsLost(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	e, _ := newTmpfsExecutor(t)
	h, err := e.Start(ctx(t), spec(t, image, "sh", "-c", `echo a=1 > "$BATON_OUTPUT"`))
	if h != nil {
		t.Cleanup(func() {
			if err := e.Remove(context.Background(), h); err != nil {
				t.Error(err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	okC, errC := cli.ContainerWait(ctx(t), h.ID, container.WaitConditionNotRunning)
	select {
	case <-okC:
	case err := <-errC:
		t.Fatal(err)
	}
	if err := unix.Unmount(h.Dir, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	r, err := e.Wait(ctx(t), h)
	if err != nil {
		t.Fatal(err)
	}
	if r.Output != nil || r.OutputError == nil || !strings.Contains(r.OutputError.Error(), "lost") {
		t.Errorf("Output %q, OutputError %v; want none and the output file lost", r.Output, r.OutputError)
	}
}

// TestOutputRootRefused points the output root at a link to a directory
// everyone may write, and at a directory another user owns: neither is
// used, attempts copy their output file instead, and nothing is mounted or
// made in them.
func TestOutputRootRefused(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	dockertest.Client(t)
	for _, tc := range []struct {
		name string
		make func(t *testing.T, root string)
	}{
		{"symlink", func(t *testing.T, root string) {
			theirs := filepath.Join(filepath.Dir(root), "theirs")
			if err := os.Mkdir(theirs, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(theirs, root); err != nil {
				t.Fatal(err)
			}
		}},
		{"other owner", func(t *testing.T, root string) {
			if os.Geteuid() != 0 {
				t.Skip("making a directory owned by another uid needs root")
			}
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(root, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			root := filepath.Join(base, "outputs")
			tc.make(t, root)
			e, err := docker.New(docker.Options{SecretsDir: executortest.SecretsDir(t), OutputDir: root})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			t.Cleanup(func() { noMountsLeft(t, base) })
			if e.TmpfsOutputs(ctx(t)) {
				t.Error("attempts get a tmpfs under a squatted output root")
			}
			h, r := run(t, e, spec(t, image, "sh", "-c", `echo a=1 > "$BATON_OUTPUT"`))
			if string(r.Output) != "a=1\n" || h.Dir != "" {
				t.Errorf("output %q, handle Dir %q; want a=1 through the copy path", r.Output, h.Dir)
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("%d entries made in the squatted root", len(entries))
			}
		})
	}
}

// TestTmpfsHardLinkRefused makes the output file a hard link to another
// file on the attempt's tmpfs: the host refuses it, as any file with other
// links, and says why.
func TestTmpfsHardLinkRefused(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e, _ := newTmpfsExecutor(t)
	_, r := run(t, e, spec(t, image, "sh", "-c", `echo a=1 > /baton/own && rm "$BATON_OUTPUT" && ln /baton/own "$BATON_OUTPUT"`))
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, want 0", r.ExitCode)
	}
	if r.Output != nil || r.OutputError == nil || !strings.Contains(r.OutputError.Error(), "hard links") {
		t.Errorf("Output %q, OutputError %v; want it refused for its other links", r.Output, r.OutputError)
	}
}
