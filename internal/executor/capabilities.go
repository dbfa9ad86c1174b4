package executor

import (
	"fmt"
	"strings"
)

// Capabilities checks the names a step gives in cap_add and returns them
// in the spelling engines take: upper case, without the CAP_ prefix. An
// unknown name is an error naming it. ALL is refused: adding every
// capability back is privileged mode by another name.
func Capabilities(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	caps := make([]string, 0, len(names))
	for _, n := range names {
		c := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(n)), "CAP_")
		if !linuxCapabilities[c] {
			return nil, fmt.Errorf("unknown capability %q in cap_add; use a Linux capability name such as NET_BIND_SERVICE (see capabilities(7))", n)
		}
		caps = append(caps, c)
	}
	return caps, nil
}

// linuxCapabilities are the Linux capabilities, as in capabilities(7).
var linuxCapabilities = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`
		CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID
		SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN
		NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE
		SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
		SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
		MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
		PERFMON BPF CHECKPOINT_RESTORE`) {
		m[c] = true
	}
	return m
}()
