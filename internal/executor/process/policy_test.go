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

// The process executor cannot isolate a command, so it refuses every spec
// that asks it to rather than run the step without the protection.
func TestUnsupportedPolicyRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		set  func(*executor.Spec)
		want string
	}{
		{"User", func(s *executor.Spec) { s.User = "1000" }, "user"},
		{"ReadOnlyRoot", func(s *executor.Spec) { s.ReadOnlyRoot = true }, "read-only root"},
		{"CapAdd", func(s *executor.Spec) { s.CapAdd = []string{"NET_ADMIN"} }, "capabilities"},
		{"Memory", func(s *executor.Spec) { s.Limits.MemoryBytes = 1 << 30 }, "resource limits"},
		{"PIDs", func(s *executor.Spec) { s.Limits.PIDs = 10 }, "resource limits"},
		{"CPUs", func(s *executor.Spec) { s.Limits.NanoCPUs = 1e9 }, "resource limits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newExecutor(t)
			s := &executor.Spec{Step: "build", Command: []string{"true"}}
			tc.set(s)
			h, err := e.Start(context.Background(), s)
			if h != nil {
				t.Errorf("handle = %+v, want nil", h)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "docker executor") {
				t.Errorf("err = %v, want it to name %q and suggest the docker executor", err, tc.want)
			}
		})
	}
}

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
