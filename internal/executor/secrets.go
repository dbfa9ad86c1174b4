package executor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultSecretsDir is where executors write attempts' secrets on the host
// unless told otherwise: a tmpfs on most Linux systems.
const DefaultSecretsDir = "/dev/shm/baton-secrets"

// EnvSecretsDir names the variable that tells a step where its secret files
// are: [SecretsDir] in a container, a host path for a process.
const EnvSecretsDir = "BATON_SECRETS_DIR"

// Magic numbers of memory-backed file systems, from statfs(2).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// CheckSecretNames refuses secret names that are not plain file names, and
// names starting with a dot, which are baton's own (see [TokenFile]).
func CheckSecretNames(secrets map[string][]byte) error {
	for name := range secrets {
		if name == "" || strings.HasPrefix(name, ".") || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
			return fmt.Errorf("secret name %q is not a plain file name; use letters, digits, dots, dashes and underscores, not starting with a dot", name)
		}
	}
	return nil
}

// PrepareSecretsRoot makes the directory secrets are written under, 0700,
// and checks that it is on a tmpfs, so secrets never reach a disk. Its
// parent must exist: creating it would put the root on whatever file system
// holds the grandparent.
//
// The root usually sits in a directory everyone may write (/dev/shm), so
// another local user may have made it first, to read every step's secrets.
// A root that is a symbolic link, is not owned by baton's effective user,
// or stays open to group or others is refused. The checks are made on the
// opened directory, not its name, and only a directory baton's user owns
// has its mode changed.
func PrepareSecretsRoot(root string) error {
	if _, err := os.Stat(filepath.Dir(root)); err != nil {
		return fmt.Errorf("secrets need a tmpfs: %w; mount one there or set the secrets directory to one, such as %s", err, DefaultSecretsDir)
	}
	if err := os.Mkdir(root, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("secrets directory: %w", err)
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		// O_DIRECTORY answers ENOTDIR for a link too; say which it is.
		if fi, lerr := os.Lstat(root); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			err = unix.ELOOP
		}
	}
	if errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("secrets directory %s is a symbolic link, which someone else may have made to see the secrets; remove it, or set the secrets directory to a fresh path, and start baton again", root)
	}
	if errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("secrets directory %s is not a directory; remove it, or set the secrets directory elsewhere, and start baton again", root)
	}
	if err != nil {
		return fmt.Errorf("secrets directory %s: %w", root, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("secrets directory %s: %w", root, err)
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return fmt.Errorf("secrets directory %s belongs to uid %d, not to baton's user (uid %d): another user may have made it to read the secrets; have root remove it (after checking what is in it), or set the secrets directory to a fresh path, and start baton again",
			root, st.Uid, euid)
	}
	if st.Mode&0o077 != 0 {
		if err := unix.Fchmod(fd, 0o700); err != nil {
			return fmt.Errorf("secrets directory %s: %w", root, err)
		}
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("secrets directory %s: %w", root, err)
		}
		if st.Mode&0o077 != 0 {
			return fmt.Errorf("secrets directory %s is still open to group or others (mode %#o) after chmod 0700; fix its mode, or set the secrets directory elsewhere", root, st.Mode&0o7777)
		}
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("secrets directory %s: %w", root, err)
	}
	if t := uint32(fs.Type); t != tmpfsMagic && t != ramfsMagic {
		return fmt.Errorf("secrets directory %s is not on a tmpfs (file system type %#x), so secrets could reach a disk; mount a tmpfs there or set the secrets directory to one, such as %s",
			root, t, DefaultSecretsDir)
	}
	return nil
}
