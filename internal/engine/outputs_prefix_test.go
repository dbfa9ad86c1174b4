package engine_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/vault"
)

// An output's name is checked as later steps would see it, with the run's
// env_prefix before it, through the output file and through the callback;
// and a posted value carrying a secret in a form masking knows (upper-case
// hex, line-wrapped base64) is refused.
func TestOutputNamesCheckedWithPrefix(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	var vlt *vault.Vault
	h := newHarness(t, process.New(process.Options{Dir: t.TempDir()}), "", "", withVault(t, &vlt))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := strings.Repeat("k3y-Mat3rial/", 16) // 208 bytes: its base64 wraps
	if err := vlt.Set(ctx, "long_key", []byte(key), time.Now()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	name := h.apply(`
name: prefixed
env_prefix: G
steps:
  - name: post
    secrets: [{name: long_key}]
    command: ["` + bb + `", "sh", "-c", "echo $BATON_TOKEN > ` + dir + `/token.tmp && mv ` + dir + `/token.tmp ` + dir + `/token; while [ ! -e ` + dir + `/go ]; do sleep 0.05; done"]
  - name: file
    command: ["` + bb + `", "sh", "-c", "echo IT_SSH_COMMAND=ssh >> $BATON_OUTPUT"]
`)
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for ctx.Err() == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "token")); err == nil {
			token = strings.TrimSpace(string(b))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(key))
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\n")
	}
	for _, tc := range []struct {
		outputs map[string]string
		want    string
	}{
		{map[string]string{"IT_EXEC_PATH": "/tmp"}, `output "IT_EXEC_PATH" becomes GIT_EXEC_PATH in a step's environment (env_prefix "G")`},
		{map[string]string{"IT_CONFIG_COUNT": "1"}, "becomes GIT_CONFIG_COUNT"},
		{map[string]string{"HEX": strings.ToUpper(hex.EncodeToString([]byte(key)))}, "carries the value of a secret"},
		{map[string]string{"PEM": "-----BEGIN-----\n" + wrapped.String() + "-----END-----\n"}, "carries the value of a secret"},
		{map[string]string{"TOK": strings.ToUpper(hex.EncodeToString([]byte(token)))}, "carries the value of a secret"},
	} {
		err := h.eng.PostOutputs(ctx, run.ID, "post", 1, token, tc.outputs)
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PostOutputs(%q) = %v, want invalid: %q", tc.outputs, err, tc.want)
		}
	}
	if err := h.eng.PostOutputs(ctx, run.ID, "post", 1, token, map[string]string{"OOD": "fine"}); err != nil {
		t.Errorf("PostOutputs of an ordinary name: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	r := h.detail(run.ID)
	wantStatus(t, r, store.RunFailed)
	if post := stepByName(t, r, "post"); post.Status != store.StepSucceeded {
		t.Errorf("post = %s %q, want succeeded", post.Status, post.Error)
	}
	file := stepByName(t, r, "file")
	if file.Status != store.StepFailed || !strings.Contains(file.Error, `output "IT_SSH_COMMAND" becomes GIT_SSH_COMMAND`) {
		t.Errorf("file = %s %q, want failed naming GIT_SSH_COMMAND", file.Status, file.Error)
	}
	if r.Variables["OOD"] != "fine" {
		t.Errorf("variables = %v, want the accepted output", r.Variables)
	}
}

// With the default prefix every output name lands under BATON_VAR_, so
// names such as GIT_SSH_COMMAND stay usable as outputs.
func TestOutputNamesDefaultPrefix(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: plain
steps:
  - name: a
    command: ["` + bb + `", "sh", "-c", "echo GIT_SSH_COMMAND=ssh >> $BATON_OUTPUT"]
  - name: b
    command: ["` + bb + `", "sh", "-c", "echo seen=$BATON_VAR_GIT_SSH_COMMAND >> $BATON_OUTPUT"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	if r.Variables["seen"] != "ssh" {
		t.Fatalf("variables = %v, want b to see a's output", r.Variables)
	}
}
