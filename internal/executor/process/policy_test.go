package process_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/process"
)

func TestSecretsNeedTmpfs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // on disk here; skip where /tmp is a tmpfs
	e := process.New(process.Options{Dir: t.TempDir(), SecretsDir: filepath.Join(dir, "secrets")})
	h, err := e.Start(context.Background(), &executor.Spec{
		Command: []string{"true"},
		Secrets: map[string][]byte{"token": []byte("x")},
	})
	if err != nil && strings.Contains(err.Error(), "is not on a tmpfs") {
		if left, _ := os.ReadDir(filepath.Join(dir, "secrets")); len(left) != 0 {
			t.Errorf("%d entries written to a disk", len(left))
		}
		return
	}
	if h != nil {
		_ = e.Remove(context.Background(), h)
	}
	t.Skipf("the temporary directory is a tmpfs here (err = %v)", err)
}

func TestSecretFileModes(t *testing.T) {
	t.Parallel()
	e := newExecutor(t)
	ctx := context.Background()
	h, err := e.Start(ctx, &executor.Spec{
		Command: []string{"sh", "-c", `stat -c %a "$BATON_SECRETS_DIR" "$BATON_SECRETS_DIR/token" > "$BATON_OUTPUT"`},
		Secrets: map[string][]byte{"token": []byte("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Remove(ctx, h) })
	r, err := e.Wait(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(r.Output), "700\n400\n"; got != want {
		t.Errorf("modes of the secrets directory and file = %q, want %q", got, want)
	}
}
