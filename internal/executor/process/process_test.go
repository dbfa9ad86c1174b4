package process_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/executortest"
	"github.com/baton-dev/baton/internal/executor/process"
)

func newExecutor(t *testing.T) *process.Executor {
	return process.New(process.Options{Dir: t.TempDir(), SecretsDir: executortest.SecretsDir(t)})
}

func TestConformance(t *testing.T) {
	executortest.Run(t, func(t *testing.T) executor.Executor { return newExecutor(t) }, "")
}

func TestStartMissingBinary(t *testing.T) {
	t.Parallel()
	e := newExecutor(t)
	h, err := e.Start(context.Background(), &executor.Spec{Command: []string{"baton-no-such-command"}})
	if h != nil {
		t.Errorf("handle = %+v, want nil", h)
	}
	want := `process: start "baton-no-such-command": executable file not found in $PATH`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("err does not wrap exec.ErrNotFound")
	}
}

func TestStepPathUsed(t *testing.T) {
	t.Parallel()
	e := newExecutor(t)
	// With an empty PATH from the step, sh cannot be found, even though the
	// server's PATH has it.
	_, err := e.Start(context.Background(), &executor.Spec{
		Command: []string{"sh", "-c", "true"},
		Env:     map[string]string{"PATH": ""},
	})
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("err = %v, want %v", err, exec.ErrNotFound)
	}
}

func TestForeignHandle(t *testing.T) {
	t.Parallel()
	e := newExecutor(t)
	h := &executor.Handle{Executor: "process", ID: "1", Dir: t.TempDir()}
	if _, err := e.Wait(context.Background(), h); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Wait: err = %v, want %v", err, executor.ErrNotFound)
	}
	if err := e.Stop(context.Background(), h, time.Second); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Stop: err = %v, want %v", err, executor.ErrNotFound)
	}
	if err := e.Remove(context.Background(), h); err != nil {
		t.Errorf("Remove: %v", err)
	}
}

func TestStopKillsChildren(t *testing.T) {
	t.Parallel()
	e := newExecutor(t)
	ctx := context.Background()
	h, err := e.Start(ctx, &executor.Spec{Command: []string{"sh", "-c",
		`sleep 60 & echo $! > "$BATON_OUTPUT"; wait`}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Remove(ctx, h)
	// Wait until the child's pid is written.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if out := readOutput(t, h); out != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.Stop(ctx, h, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	r, err := e.Wait(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("ExitCode = %d, want %d", r.ExitCode, 128+int(syscall.SIGTERM))
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(r.Output)))
	if err != nil {
		t.Fatalf("output %q: %v", r.Output, err)
	}
	// The child may linger briefly as a zombie until init reaps it.
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(child, 0) == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still alive after Stop", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readOutput peeks at the output file of a running attempt.
func readOutput(t *testing.T, h *executor.Handle) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.Dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLongLinesSplit(t *testing.T) {
	t.Parallel()
	e := newExecutor(t)
	ctx := context.Background()
	h, err := e.Start(ctx, &executor.Spec{Command: []string{"sh", "-c",
		`i=0; while [ $i -lt 1600 ]; do printf 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef; i=$((i+1)); done; echo; echo short`}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Remove(ctx, h)
	if _, err := e.Wait(ctx, h); err != nil {
		t.Fatal(err)
	}
	type piece struct {
		len     int
		partial bool
	}
	var got []piece
	err = e.FollowLogs(ctx, h, func(l executor.LogLine) { got = append(got, piece{len(l.Text), l.Partial}) })
	if err != nil {
		t.Fatal(err)
	}
	// 1600*64 = 102400 bytes: one 64 KiB piece that goes on, the rest, then
	// "short".
	want := []piece{{65536, true}, {102400 - 65536, false}, {5, false}}
	if !slices.Equal(got, want) {
		t.Errorf("pieces (length, partial) = %v, want %v", got, want)
	}
}

// An attempt started by an earlier life of baton (another Executor on the
// same directory) cannot be waited for, but Remove still kills it.
func TestRemoveKillsAttemptOfEarlierLife(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	before := process.New(process.Options{Dir: dir})
	h, err := before.Start(ctx, &executor.Spec{RunID: "r", Step: "s", Attempt: 1, Command: []string{"sh", "-c", "sleep 60"}, Env: map[string]string{"PATH": os.Getenv("PATH")}})
	if err != nil {
		t.Fatal(err)
	}
	after := process.New(process.Options{Dir: dir})
	if _, err := after.Wait(ctx, h); !errors.Is(err, executor.ErrNotFound) {
		t.Fatalf("Wait on an earlier life's handle: %v, want ErrNotFound", err)
	}
	if err := after.Remove(ctx, h); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := before.Wait(wctx, h)
	if err != nil {
		t.Fatalf("the orphan was not killed: %v", err)
	}
	if res.ExitCode != 128+9 {
		t.Errorf("exit code = %d, want 137 (SIGKILL)", res.ExitCode)
	}
}
