package pipeline

import (
	"strings"
	"testing"
)

func TestIsReservedName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool
	}{
		{"PATH", true},
		{"HOME", true},
		{"SHELL", true},
		{"IFS", true},
		{"ENV", true},
		{"BASH_ENV", true},
		{"HOSTNAME", true},
		{"SHELLOPTS", true},
		{"BASHOPTS", true},
		{"PS4", true},
		{"CDPATH", true},
		{"GLOBIGNORE", true},
		{"PROMPT_COMMAND", true},
		{"LD_PRELOAD", true},
		{"LD_LIBRARY_PATH", true},
		{"LD_", true},
		{"DYLD_INSERT_LIBRARIES", true},
		{"BATON_TOKEN", true},
		{"BATON_", true},
		{"", true},
		{"A=B", true},
		{"A\x00", true},
		{"A\nB", true},
		{"path", false},
		{"ld_preload", false},
		{"baton_token", false},
		{"PATHS", false},
		{"MY_PATH", false},
		{"LD", false},
		{"BATON", false},
		{"BATON_VARX", true},
		{"API_KEY", false},
		{"___X", false},
		// Names that matter only as a variable's prefixed name: see
		// TestCheckVarName. An output may be called GIT_SHA.
		{"GIT_SHA", false},
		{"NODE_ENV", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsReservedName(tt.name); got != tt.want {
				t.Errorf("IsReservedName(%q) = %t, want %t", tt.name, got, tt.want)
			}
		})
	}
}

// A variable's name is checked as steps see it, the prefix before it.
func TestCheckVarName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, name string
		want         string // part of the error; "" for none
	}{
		// The default prefix keeps every valid name in baton's BATON_VAR_
		// family.
		{DefaultEnvPrefix, "GIT_SSH_COMMAND", ""},
		{DefaultEnvPrefix, "PATH", ""},
		{DefaultEnvPrefix, "LD_PRELOAD", ""},
		{DefaultEnvPrefix, "TOKEN", ""},
		{"___", "SSH_COMMAND", ""},
		{"MYAPP_", "OPTIONS", ""},
		{"G", "IT_SHA", `"IT_SHA" becomes GIT_SHA in a step's environment (env_prefix "G"), and git reads GIT_ names`},
		{"G", "IT_SSH_COMMAND", "becomes GIT_SSH_COMMAND"},
		{"GI", "T_EXEC_PATH", "becomes GIT_EXEC_PATH"},
		{"G", "IT_CONFIG_COUNT", "becomes GIT_CONFIG_COUNT"},
		{"NODE", "_OPTIONS", "becomes NODE_OPTIONS"},
		{"L", "D_PRELOAD", "becomes LD_PRELOAD in a step's environment (env_prefix \"L\"), and names starting with LD_ change how the dynamic linker"},
		{"D", "YLD_INSERT_LIBRARIES", "becomes DYLD_INSERT_LIBRARIES"},
		{"PY", "THONSTARTUP", "Python reads PYTHON names"},
		{"P", "YTHONPATH", "becomes PYTHONPATH"},
		{"P", "ERL5OPT", "becomes PERL5OPT"},
		{"R", "UBYOPT", "becomes RUBYOPT"},
		{"_", "JAVA_OPTIONS", "becomes _JAVA_OPTIONS"},
		{"J", "AVA_TOOL_OPTIONS", "becomes JAVA_TOOL_OPTIONS"},
		{"JDK", "_JAVA_OPTIONS", "becomes JDK_JAVA_OPTIONS"},
		{"BASH", "_ENV", "becomes BASH_ENV in a step's environment (env_prefix \"BASH\"), and BASH_ENV is set by the container or read by shells"},
		{"E", "NV", "becomes ENV"},
		{"P", "ATH", "becomes PATH"},
		{"H", "OME", "becomes HOME"},
		{"I", "FS", "becomes IFS"},
		{"SHELL", "OPTS", "becomes SHELLOPTS"},
		{"PS", "4", "starts with a digit"}, // a name may not start with a digit
		{"P", "S4", "becomes PS4"},
		{"G", "CONV_PATH", "becomes GCONV_PATH"},
		{"HTTPS", "_PROXY", "HTTP clients send requests through it"},
		{"http", "s_proxy", "becomes https_proxy"},
		{"npm", "_config_script_shell", "becomes npm_config_script_shell"},
		{"PIP", "_INDEX_URL", "becomes PIP_INDEX_URL"},
		{"SSL", "_CERT_FILE", "becomes SSL_CERT_FILE"},
		{"DOCKER", "_HOST", "becomes DOCKER_HOST"},
		{"BATON", "_TOKEN", "names starting with BATON_ are baton's own"},
		{"X", "", "empty"},
		{"X", "A-B", "contains '-'"},
		{"path", "", "empty"},
		{"N", "ODE_ENV", "becomes NODE_ENV"},
		{"GITHUB_", "SHA", ""},
		{"PATH_", "X", ""},
		{"L", "OG_LEVEL", ""},
	}
	for _, tt := range tests {
		err := CheckVarName(tt.prefix, tt.name)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckVarName(%q, %q) = %v, want nil", tt.prefix, tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckVarName(%q, %q) = %v, want an error with %q", tt.prefix, tt.name, err, tt.want)
		}
	}
}

// Parse refuses an env_prefix that puts every variable in a family that
// programs read, and a var whose prefixed name is reserved, with its line.
func TestParsePrefixedNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"prefix GIT_", base + "env_prefix: GIT_\n", `x.yaml:4: env_prefix: "GIT_" would make every variable a name starting with GIT_, and git reads GIT_ names`},
		{"prefix NODE_", base + "env_prefix: NODE_\n", `x.yaml:4: env_prefix: "NODE_" would make every variable a name starting with NODE_`},
		{"prefix LD_", base + "env_prefix: LD_\n", `env_prefix: "LD_" would make every variable a name starting with LD_`},
		{"prefix LD_X", base + "env_prefix: LD_X_\n", `env_prefix: "LD_X_" would make every variable`},
		{"prefix DYLD_", base + "env_prefix: DYLD_\n", `starting with DYLD_`},
		{"prefix PYTHON", base + "env_prefix: PYTHON_\n", `starting with PYTHON`},
		{"prefix JAVA_", base + "env_prefix: JAVA_\n", `starting with JAVA_`},
		{"prefix npm", base + "env_prefix: npm_config_\n", `starting with npm_config_`},
		{"prefix empty", base + "env_prefix: ''\n", "env_prefix: is empty"},
		{"prefix baton", base + "env_prefix: BATON_\n", "clash with baton's own"},
		{"var after prefix", base + "env_prefix: G\nvars:\n  IT_SSH_COMMAND: ssh -o ProxyCommand=x\n", `x.yaml:6: vars.IT_SSH_COMMAND: "IT_SSH_COMMAND" becomes GIT_SSH_COMMAND in a step's environment (env_prefix "G"), and git reads GIT_ names`},
		{"var node", base + "env_prefix: NODE\nvars:\n  ok: x\n  _OPTIONS: --require=/tmp/x.js\n", `x.yaml:7: vars._OPTIONS: "_OPTIONS" becomes NODE_OPTIONS`},
		{"var bash env", base + "env_prefix: BASH\nvars:\n  _ENV: /tmp/x\n", `vars._ENV: "_ENV" becomes BASH_ENV`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("x.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want %q", err, tt.want)
			}
		})
	}
	// A bad prefix is reported once, not again for every var.
	_, err := Parse("x.yaml", []byte(base+"env_prefix: GIT_\nvars:\n  SSH_COMMAND: x\n  EXEC_PATH: y\n"))
	if err == nil || strings.Count(err.Error(), "x.yaml") != 1 || strings.Contains(err.Error(), "vars.") {
		t.Fatalf("Parse error = %v, want the prefix reported alone", err)
	}
	for _, in := range []string{
		base + "env_prefix: L\nvars:\n  OG_LEVEL: debug\n",
		base + "env_prefix: ___\nvars:\n  SSH_COMMAND: x\n  OPTIONS: y\n",
		base + "vars:\n  GIT_SSH_COMMAND: x\n  PATH: y\n  LD_PRELOAD: z\n",
		base + "env_prefix: BATON_VAR_X_\nvars:\n  PATH: y\n",
	} {
		if _, err := Parse("x.yaml", []byte(in)); err != nil {
			t.Errorf("Parse(%q) = %v, want it accepted", in, err)
		}
	}
}
