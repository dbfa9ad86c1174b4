package engine

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/mask"
	"github.com/baton-dev/baton/internal/pipeline"
)

// checkOutputs checks an output's name as later steps see it, the run's
// env_prefix before it, and refuses values carrying a secret in any form
// masking knows.
func TestCheckOutputs(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k3y-Mat3rial/", 16) // 208 bytes: its base64 wraps
	m := mask.New("s3cr3t-Pa55word!", key)
	b64 := base64.StdEncoding.EncodeToString([]byte(key + "\n"))
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\n")
	}
	tests := []struct {
		prefix, name, value string
		want                string // part of the error; "" for none
	}{
		{pipeline.DefaultEnvPrefix, "GIT_SSH_COMMAND", "x", ""},
		{pipeline.DefaultEnvPrefix, "RESULT", "ok", ""},
		{"___", "SSH_COMMAND", "x", ""},
		{pipeline.DefaultEnvPrefix, "PATH", "x", `output "PATH": that name is reserved`},
		{pipeline.DefaultEnvPrefix, "BATON_TOKEN", "x", "reserved"},
		{"G", "IT_SSH_COMMAND", "x", `output "IT_SSH_COMMAND" becomes GIT_SSH_COMMAND in a step's environment (env_prefix "G")`},
		{"NODE", "_OPTIONS", "--require=/tmp/x", "becomes NODE_OPTIONS"},
		{"_", "JAVA_OPTIONS", "-javaagent:x", "becomes _JAVA_OPTIONS"},
		{"L", "D_PRELOAD", "/tmp/x.so", "becomes LD_PRELOAD"},
		{"BASH", "_ENV", "/tmp/x", "becomes BASH_ENV"},
		{"P", "YTHONSTARTUP", "/tmp/x", "becomes PYTHONSTARTUP"},
		{pipeline.DefaultEnvPrefix, "V", "s3cr3t-Pa55word!", "carries the value of a secret"},
		{pipeline.DefaultEnvPrefix, "V", strings.ToUpper(hex.EncodeToString([]byte("s3cr3t-Pa55word!"))), "carries the value of a secret"},
		{pipeline.DefaultEnvPrefix, "V", "%73%33%63%72%33%74%2d%50%61%35%35%77%6f%72%64%21", "carries the value of a secret"},
		{pipeline.DefaultEnvPrefix, "V", wrapped.String(), "carries the value of a secret"},
		{pipeline.DefaultEnvPrefix, "V", "line one\n" + strings.Split(wrapped.String(), "\n")[1] + "\nline three", "carries the value of a secret"},
	}
	for _, tt := range tests {
		err := checkOutputs(map[string]string{tt.name: tt.value}, tt.prefix, m)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("checkOutputs(%q=%q, prefix %q) = %v, want nil", tt.name, tt.value, tt.prefix, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("checkOutputs(%q=%q, prefix %q) = %v, want an error with %q", tt.name, tt.value, tt.prefix, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), tt.value) && len(tt.value) > 3 {
			t.Errorf("checkOutputs error %q echoes the refused value", err)
		}
	}
}
