package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/stepfile"
)

// The fast path gives each attempt a tmpfs of its own, bind-mounted at
// /baton: no archive call is needed to put the output file in or get it
// back, and what the step writes there lands in a few pages of memory
// capped by the mount, never in the data dir. The host reads the file only
// through stepfile, so a link or a pipe in its place is refused, not
// followed.
const (
	// outputTmpfsBytes caps each attempt's /baton: room for an output file
	// one byte over what the contract reads, and little else.
	outputTmpfsBytes = 2 << 20
	// outputTmpfsInodes caps the files a step can make there.
	outputTmpfsInodes = 16
	// outputDirPrefix starts the name of every directory baton makes under
	// [Options.OutputDir]; a sweep touches nothing else.
	outputDirPrefix = "baton-"
)

// A file one byte over what is read must fit, with room to spare for the
// file system's own pages, or a step writing too much would see a full disk
// instead of baton saying its output is too large. (A negative constant
// does not convert to uint: this line fails to compile if the cap is too
// small.)
const _ = uint(outputTmpfsBytes - (contract.MaxInputBytes + 1) - 64<<10)

var outputMountData = fmt.Sprintf("size=%d,nr_inodes=%d,mode=0777", outputTmpfsBytes, outputTmpfsInodes)

// outputMode decides, once, whether attempts get a tmpfs of their own:
// only with [Options.OutputDir] set, an engine on this machine that sees
// this process's mounts, and the right to mount, checked by mounting one.
// Otherwise the output file is copied in and out. A check cut short by ctx
// is not remembered.
type outputMode struct {
	mu      sync.Mutex
	decided bool
	tmpfs   bool
}

// tmpfsOutputs reports whether attempts get a tmpfs for /baton.
func (e *Executor) tmpfsOutputs(ctx context.Context) bool {
	e.mode.mu.Lock()
	defer e.mode.mu.Unlock()
	if e.mode.decided {
		return e.mode.tmpfs
	}
	err := e.probeTmpfs(ctx)
	if err != nil && ctx.Err() != nil {
		return false
	}
	e.mode.decided, e.mode.tmpfs = true, err == nil
	if err != nil {
		e.logger.Info("docker: copying each output file in and out of its container (two archive calls per attempt)", "reason", err)
	} else {
		e.logger.Debug("docker: each attempt's /baton is a tmpfs of its own", "output_dir", e.outputDir)
	}
	return e.mode.tmpfs
}

func (e *Executor) probeTmpfs(ctx context.Context) error {
	switch {
	case e.copyOutput:
		return errors.New("the copy path was asked for")
	case e.outputDir == "":
		return errors.New("no output directory is set")
	case !e.local:
		return fmt.Errorf("the engine at %s is not on this machine", e.cli.DaemonHost())
	}
	if err := engineSeesOurMounts(ctx, strings.TrimPrefix(e.cli.DaemonHost(), "unix://")); err != nil {
		return err
	}
	if err := prepareOutputRoot(e.outputDir); err != nil {
		return err
	}
	probe, err := attemptDirName("baton-probe")
	if err != nil {
		return err
	}
	dir, err := e.makeOutputDir(probe)
	if err != nil {
		return err
	}
	defer starting.done(dir)
	return e.removeOutputDir(dir)
}

// engineSeesOurMounts checks that the engine behind the socket runs in this
// process's mount namespace, so that it bind-mounts the tmpfs baton made,
// not the empty directory under it. An engine whose process cannot be seen
// from here (another PID namespace) fails the check.
func engineSeesOurMounts(ctx context.Context, socket string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", socket, err)
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return fmt.Errorf("engine socket %s: %w", socket, err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("engine socket %s: %w", socket, err)
	}
	if credErr != nil {
		return fmt.Errorf("engine socket %s: peer credentials: %w", socket, credErr)
	}
	return sameMountNamespace(int(cred.Pid))
}

// sameMountNamespace reports whether process pid shares this process's
// mount namespace.
func sameMountNamespace(pid int) error {
	if pid <= 0 {
		return errors.New("the engine's process is not visible from here")
	}
	ours, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("mount namespace: %w", err)
	}
	theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err != nil {
		return fmt.Errorf("the engine's mount namespace: %w", err)
	}
	if ours != theirs {
		return errors.New("the engine runs in another mount namespace, where baton's mounts are not seen")
	}
	return nil
}

// prepareOutputRoot makes the directory attempts' tmpfs mounts go under,
// 0700, and refuses one that is a link or belongs to another user, who
// could then swap an attempt's directory for a link. The checks are made
// on the opened directory.
func prepareOutputRoot(root string) error {
	if err := os.Mkdir(root, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("output directory: %w", err)
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("output directory %s is not a directory but a link or a file; remove it and start baton again", root)
	}
	if err != nil {
		return fmt.Errorf("output directory %s: %w", root, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("output directory %s: %w", root, err)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("output directory %s belongs to uid %d, not to baton's user (uid %d); remove it and start baton again", root, st.Uid, euid)
	}
	if st.Mode&0o077 != 0 {
		if err := unix.Fchmod(fd, 0o700); err != nil {
			return fmt.Errorf("output directory %s: %w", root, err)
		}
	}
	return nil
}

// attemptDirName names an attempt's directories on the host: its
// container's name and a random suffix, as no other attempt's.
func attemptDirName(container string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("docker: attempt directory name: %w", err)
	}
	return container + "-" + hex.EncodeToString(b[:]), nil
}

// makeOutputDir makes the directory dirName under the output root, mounts
// a capped tmpfs on it that no setuid binary, device or program on it
// works from, and leaves an empty output file there that any user in the
// container may write. The directory is registered in [starting]; the
// caller calls starting.done once its container exists or never will.
func (e *Executor) makeOutputDir(dirName string) (string, error) {
	dir := filepath.Join(e.outputDir, dirName)
	starting.add(dir)
	fail := func(err error) (string, error) {
		if rerr := e.removeOutputDir(dir); rerr != nil {
			e.logger.Warn("docker: remove output directory", "dir", dir, "err", rerr)
		}
		starting.done(dir)
		return "", fmt.Errorf("docker: output directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		starting.done(dir)
		return "", fmt.Errorf("docker: output directory: %w", err)
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, outputMountData); err != nil {
		return fail(fmt.Errorf("mount a tmpfs on %s: %w", dir, err))
	}
	// Private: the mount stays out of other mount namespaces that share
	// the data dir's, and their mounts out of it.
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fail(fmt.Errorf("make %s private: %w", dir, err))
	}
	f, err := os.OpenFile(filepath.Join(dir, path.Base(OutputPath)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o666)
	if err != nil {
		return fail(err)
	}
	// Set after creation so that the umask does not narrow it.
	err = f.Chmod(0o666)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	return dir, nil
}

// ownsOutputDir says dir is an attempt's directory baton made: directly
// under the output root, or under an outputs directory as earlier
// versions made them, and named as baton names them. Nothing else is
// unmounted or removed, whatever a handle or a container says.
func (e *Executor) ownsOutputDir(dir string) bool {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if !filepath.IsAbs(dir) || !strings.HasPrefix(filepath.Base(dir), outputDirPrefix) {
		return false
	}
	return (e.outputDir != "" && parent == e.outputDir) || filepath.Base(parent) == "outputs"
}

// maxStacked bounds how many mounts on one directory are undone: baton
// makes one, but a Remove must not loop on a directory that keeps one.
const maxStacked = 8

// removeOutputDir unmounts an attempt's tmpfs, if it is still mounted, and
// removes the directory without following any link in it. It is
// idempotent, and works as well for a directory a crash left mounted.
func (e *Executor) removeOutputDir(dir string) error {
	if !e.ownsOutputDir(dir) {
		return nil
	}
	dir = filepath.Clean(dir)
	// Looked at first, so that a plain directory goes even without the
	// right to unmount.
	for i := 0; i < maxStacked && isMountPoint(dir) == nil; i++ {
		err := unix.Unmount(dir, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("docker: unmount output directory %s: %w", dir, err)
		}
	}
	if err := stepfile.RemoveAll(filepath.Dir(dir), filepath.Base(dir)); err != nil {
		return fmt.Errorf("docker: remove output directory %s: %w", dir, err)
	}
	return nil
}

// starting holds the output directories of attempts being started in this
// process, which a sweep must leave alone: their containers may not exist
// yet. It is shared by every [Executor], so that two of them on one output
// root do not sweep each other's.
var starting = startingDirs{dirs: map[string]int{}}

type startingDirs struct {
	mu   sync.Mutex
	dirs map[string]int
}

func (s *startingDirs) add(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirs[dir]++
}

func (s *startingDirs) done(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs[dir]--; s.dirs[dir] <= 0 {
		delete(s.dirs, dir)
	}
}

func (s *startingDirs) snapshot() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]bool, len(s.dirs))
	for d := range s.dirs {
		m[d] = true
	}
	return m
}

// removeAttemptDirs removes the output directory outDir and the secrets
// directory of the same name, which Start made with it: the way to both
// when the container that mounted them is gone.
func (e *Executor) removeAttemptDirs(outDir string) error {
	if !e.ownsOutputDir(outDir) {
		return nil
	}
	if err := e.removeOutputDir(outDir); err != nil {
		return err
	}
	return e.removeSecrets(filepath.Join(e.secretsDir, filepath.Base(filepath.Clean(outDir))))
}
