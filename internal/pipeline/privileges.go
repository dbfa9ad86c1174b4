package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/baton-dev/baton/internal/suggest"
)

// capabilities are the Linux capabilities by name, without CAP_, as
// capabilities(7) lists them up to Linux 6.x. Which of them a step may
// add is the server's policy, not the file's.
var capabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// maxUserName bounds a user or group name, as useradd does by default.
const maxUserName = 32

const userHint = `write a user id, uid:gid, or a user name, e.g. "1000:1000" or nobody`

// userProblem says what is wrong with a step's user:, or "". Each of the
// user and the optional group is a number or a name.
func userProblem(user string) string {
	if user == "" {
		return "is empty; " + userHint + ", or leave user out for the image's user"
	}
	parts := strings.Split(user, ":")
	if len(parts) > 2 {
		return fmt.Sprintf("%.64q has more than one :; %s", user, userHint)
	}
	for _, part := range parts {
		if !validID(part) && !validUserName(part) {
			return fmt.Sprintf("%.64q is not a user; %s", user, userHint)
		}
	}
	return ""
}

// validID reports whether s is a decimal uid or gid; 4294967295 is
// (uid_t)-1, which means "no change" to the kernel.
func validID(s string) bool {
	if s == "" || !allDigits(s) {
		return false
	}
	id, err := strconv.ParseUint(s, 10, 32)
	return err == nil && id < 1<<32-1
}

func validUserName(s string) bool {
	if s == "" || len(s) > maxUserName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '.' || c == '-')) {
			return false
		}
	}
	return true
}

// capAdd reads a list of distinct capability names, dropping any CAP_.
func (p *parser) capAdd(n *yaml.Node, field string) []string {
	if n = p.resolve(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "is %s; write a list of capabilities, e.g. [NET_BIND_SERVICE]", DescribeNode(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		at := fmt.Sprintf("%s[%d]", field, i)
		written, ok := p.str(item, at)
		if !ok {
			continue
		}
		item = p.resolve(item)
		name := strings.TrimPrefix(written, "CAP_")
		if problem := capabilityProblem(name); problem != "" {
			p.errorf(item, at, "%.64q %s", written, problem)
			continue
		}
		if slices.Contains(out, name) {
			p.errorf(item, at, "%s is listed twice; list it once", name)
			continue
		}
		out = append(out, name)
	}
	return out
}

// capabilityProblem says what is wrong with a capability name, CAP_ taken
// off, or "".
func capabilityProblem(name string) string {
	const rule = "a Linux capability in upper case, with or without CAP_, e.g. NET_BIND_SERVICE; see capabilities(7)"
	if slices.Contains(capabilities, name) {
		return ""
	}
	upper := strings.TrimPrefix(strings.ToUpper(name), "CAP_")
	switch {
	case upper == "ALL":
		return "is not accepted; list each capability the step needs, e.g. [NET_BIND_SERVICE, NET_RAW]"
	case slices.Contains(capabilities, upper):
		return fmt.Sprintf("is not upper case; write %s", upper)
	}
	lower := make([]string, len(capabilities))
	for i, c := range capabilities {
		lower[i] = strings.ToLower(c)
	}
	if s := suggest.Closest(upper, lower); s != "" {
		return fmt.Sprintf("is not a Linux capability; did you mean %s? Write %s", strings.ToUpper(s), rule)
	}
	return "is not a Linux capability; write " + rule
}
