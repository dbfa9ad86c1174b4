package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/baton-dev/baton/internal/contract"
)

// reservedNames are set by the container runtime or read by shells as they
// start, so a value from a trigger or another step's outputs could change
// what a step's command runs or where it looks. A step's own env: may set
// them.
var reservedNames = []string{
	"PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "HOSTNAME",
	"SHELLOPTS", "BASHOPTS", "PS4", "CDPATH", "GLOBIGNORE", "PROMPT_COMMAND",
}

// IsReservedName reports whether name must not be set in a step's
// environment from secrets' env:, nor be the name of an output: PATH, HOME,
// SHELL, IFS, ENV, BASH_ENV, HOSTNAME, SHELLOPTS, BASHOPTS, PS4, CDPATH,
// GLOBIGNORE, PROMPT_COMMAND; names starting with LD_ or DYLD_ (read by the
// dynamic linker) or BATON_ (baton's own); and names that cannot be set
// safely at all: the empty name and names containing '=', a NUL byte or a
// newline. Letter case matters: "path" is not reserved.
//
// A step's own env: may still set PATH and the other plain names, because
// the pipeline's author writes them on purpose; see [Step.Env]. What a
// variable's name may be once the env_prefix is put before it is a wider
// question, answered by [CheckVarName].
func IsReservedName(name string) bool {
	return reservedReason(name) != ""
}

// reservedReason says why [IsReservedName] is true for name, for messages,
// or "" when it is not.
func reservedReason(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case strings.ContainsAny(name, "=\x00\n"):
		return "the name contains =, a NUL byte or a newline"
	case strings.HasPrefix(name, "BATON_"):
		return "names starting with BATON_ are baton's own"
	case strings.HasPrefix(name, "LD_"):
		return "names starting with LD_ change how the dynamic linker loads every program"
	case strings.HasPrefix(name, "DYLD_"):
		return "names starting with DYLD_ change how the macOS dynamic linker loads every program"
	case slices.Contains(reservedNames, name):
		return name + " is set by the container or read by shells as they start"
	}
	return ""
}

// varNamespaces are families of environment names that programs read as
// they start, each with what the danger is. A run variable's name, its
// env_prefix put before it, may not fall in one: a trigger's param or a
// step's output would then choose what a later step's programs load or run.
var varNamespaces = []struct{ prefix, why string }{
	{"LD_", "the dynamic linker reads LD_ names (LD_PRELOAD loads a library into every program)"},
	{"DYLD_", "the macOS dynamic linker reads DYLD_ names (DYLD_INSERT_LIBRARIES loads a library into every program)"},
	{"GIT_", "git reads GIT_ names, some to run a command (GIT_SSH_COMMAND, GIT_EXEC_PATH) or to set any config (GIT_CONFIG_*)"},
	{"NODE_", "Node.js reads NODE_ names (NODE_OPTIONS can load any module, NODE_TLS_REJECT_UNAUTHORIZED turns off TLS checks)"},
	{"PYTHON", "Python reads PYTHON names as it starts (PYTHONSTARTUP, PYTHONPATH and PYTHONWARNINGS can run code)"},
	{"PERL", "Perl reads PERL names as it starts (PERL5OPT and PERL5LIB can run code)"},
	{"RUBY", "Ruby reads RUBY names as it starts (RUBYOPT and RUBYLIB can run code)"},
	{"JAVA_", "Java reads JAVA_ names (JAVA_TOOL_OPTIONS loads agents into every JVM)"},
	{"PIP_", "pip reads PIP_ names as options (PIP_INDEX_URL chooses where packages come from)"},
	{"npm_config_", "npm reads npm_config_ names as its config (script-shell, registry)"},
	{"NPM_CONFIG_", "npm reads NPM_CONFIG_ names as its config (script-shell, registry)"},
}

// varNames are single environment names that a run variable's name, with
// its env_prefix, may not be, besides [reservedNames], each with why.
var varNames = map[string]string{
	"_JAVA_OPTIONS":      "the JVM reads it as options (it can load agents)",
	"JDK_JAVA_OPTIONS":   "the java launcher reads it as options (it can load agents)",
	"CLASSPATH":          "Java loads classes from it",
	"PS1":                "shells run what it holds when they prompt",
	"BASH_XTRACEFD":      "bash writes its trace to that file descriptor",
	"GCONV_PATH":         "the C library loads character-set modules from it",
	"GLIBC_TUNABLES":     "the C library reads it as it starts every program",
	"LOCPATH":            "the C library loads locales from it",
	"NLSPATH":            "the C library loads message catalogs from it",
	"HOSTALIASES":        "the resolver reads host names from that file",
	"RES_OPTIONS":        "the resolver reads it as options",
	"LOCALDOMAIN":        "the resolver reads it as the search domains",
	"SSL_CERT_FILE":      "TLS clients trust the certificates it names",
	"SSL_CERT_DIR":       "TLS clients trust the certificates it names",
	"CURL_CA_BUNDLE":     "curl trusts the certificates it names",
	"REQUESTS_CA_BUNDLE": "Python requests trusts the certificates it names",
	"http_proxy":         "HTTP clients send requests through it",
	"HTTP_PROXY":         "HTTP clients send requests through it",
	"https_proxy":        "HTTP clients send requests through it",
	"HTTPS_PROXY":        "HTTP clients send requests through it",
	"all_proxy":          "network clients send requests through it",
	"ALL_PROXY":          "network clients send requests through it",
	"ftp_proxy":          "FTP clients send requests through it",
	"FTP_PROXY":          "FTP clients send requests through it",
	"EDITOR":             "programs run it as a command",
	"VISUAL":             "programs run it as a command",
	"PAGER":              "programs run it as a command",
	"LESSOPEN":           "less runs it as a command",
	"LESSCLOSE":          "less runs it as a command",
	"SSH_ASKPASS":        "ssh runs it as a command",
	"SUDO_ASKPASS":       "sudo runs it as a command",
	"SSH_AUTH_SOCK":      "ssh uses the agent at that socket",
	"DOCKER_HOST":        "the docker client talks to the engine it names",
}

// varEnvReason says why the environment name full, a run variable's name
// with the env_prefix before it, may not be set, or "". baton's own BATON_
// names are reserved, except those under the default prefix [DefaultEnvPrefix].
func varEnvReason(full string) string {
	if !strings.HasPrefix(full, DefaultEnvPrefix) {
		if why := reservedReason(full); why != "" {
			return why
		}
	}
	for _, ns := range varNamespaces {
		if strings.HasPrefix(full, ns.prefix) {
			return ns.why
		}
	}
	if why, ok := varNames[full]; ok {
		return why
	}
	return ""
}

// CheckVarName checks the name of a run variable, a var of the pipeline or
// an output of a step, which steps see as envPrefix+name: the name must
// follow the variable name rule, and the prefixed name must not be one that
// changes how a program starts, loads code, trusts or reaches the network
// (LD_*, GIT_*, NODE_OPTIONS, PYTHON*, BASH_ENV, PATH and the like; see
// docs/spec.md). With the default prefix, BATON_VAR_, every valid name is
// accepted. The error says what the name becomes and why that is refused.
func CheckVarName(envPrefix, name string) error {
	if err := contract.ValidName(name); err != nil {
		return err
	}
	full := envPrefix + name
	if why := varEnvReason(full); why != "" {
		return fmt.Errorf("%.64q becomes %.80s in a step's environment (env_prefix %q), and %s; choose another name", name, full, envPrefix, why)
	}
	return nil
}
