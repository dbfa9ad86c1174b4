// Package stepwrap runs a step's command where the engine cannot read the
// step's output file back, as on a Kubernetes node, and delivers the file
// through the step's callback instead. It is what `baton step-wrap` does
// inside the step's container: the command gets a fresh [executor.EnvOutput]
// file of its own, every signal the wrapper receives is passed on to it, and
// when it exits with 0 the file is read without following links, parsed by
// the contract's rules and POSTed to $BATON_CALLBACK_URL with the attempt's
// token. A step never loses outputs silently: when they cannot be delivered,
// the wrapper says why on standard error and exits with [ExitUndelivered].
package stepwrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/stepfile"
)

// Exit codes of the wrapper itself, after the shells' conventions.
const (
	// ExitUndelivered: the command exited 0 but its outputs could not be
	// delivered (the file was refused or invalid, or the callback failed).
	ExitUndelivered = 125
	// ExitCannotRun: the command was found but could not be run.
	ExitCannotRun = 126
	// ExitNotFound: the command was not found.
	ExitNotFound = 127
)

// outputName is the output file's name in the wrapper's private directory.
const outputName = "output"

// readTimeout bounds reading the output file: it is a regular file by
// then, but on a hung file system even that could block.
const readTimeout = 30 * time.Second

// Options is what [Run] needs.
type Options struct {
	// Command is the step's argv; Command[0] is looked up in PATH.
	Command []string
	// Env is the command's environment, as os.Environ gives it. The
	// wrapper reads the callback's address and token from it too.
	Env []string
	// Stdin, Stdout and Stderr are the command's; Stderr also gets the
	// wrapper's own messages.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Signals are passed on to the command as they arrive; the caller
	// subscribes the channel with signal.Notify.
	Signals <-chan os.Signal
	// TempDir is where the private directory of the output file is made;
	// empty means os.TempDir().
	TempDir string
	// Post configures delivery; its zero value is the defaults.
	Post PostOptions
}

// Run runs the command to its end and returns the exit code the wrapper
// should exit with: the command's own (128+N when signal N killed it), or
// [ExitUndelivered], [ExitCannotRun] or [ExitNotFound]. ctx bounds the
// delivery of outputs only: the command's life is governed by the signals
// the wrapper passes on, as it would be without the wrapper.
func Run(ctx context.Context, o Options) int {
	if len(o.Command) == 0 {
		fmt.Fprintln(o.Stderr, "baton step-wrap: no command given; use baton step-wrap -- COMMAND [ARG...]")
		return ExitCannotRun
	}
	dir, err := os.MkdirTemp(o.TempDir, "baton-step-")
	if err != nil {
		fmt.Fprintf(o.Stderr, "baton step-wrap: make the output file's directory: %v; the step needs a writable temporary directory (TMPDIR, or /tmp)\n", err)
		return ExitUndelivered
	}
	defer removeDir(o.Stderr, dir)
	output := filepath.Join(dir, outputName)
	f, err := os.OpenFile(output, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(o.Stderr, "baton step-wrap: make the output file: %v\n", err)
		return ExitUndelivered
	}
	f.Close()

	code := runCommand(o, withEnv(o.Env, executor.EnvOutput, output))
	if code != 0 {
		// Outputs of a failed attempt are dropped by baton anyway.
		return code
	}
	if err := deliver(context.WithoutCancel(ctx), o, dir); err != nil {
		fmt.Fprintf(o.Stderr, "baton step-wrap: the step's outputs were not delivered: %v\n", err)
		return ExitUndelivered
	}
	return code
}

// runCommand runs the command, passing signals on, and returns its exit
// code.
func runCommand(o Options, env []string) int {
	cmd := exec.Command(o.Command[0], o.Command[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(o.Stderr, "baton step-wrap: cannot run %q: %v\n", o.Command[0], err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return ExitNotFound
		}
		return ExitCannotRun
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-o.Signals:
				// A process that already exited cannot be signalled; its
				// exit is about to be seen.
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		fmt.Fprintf(o.Stderr, "baton step-wrap: wait for %q: %v\n", o.Command[0], err)
		return ExitCannotRun
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// withEnv returns env with name set to value, and no other entry for name.
func withEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != name {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// lookupEnv is os.LookupEnv over env.
func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// removeDir removes the private directory and whatever the command left
// in it, without following its links.
func removeDir(stderr io.Writer, dir string) {
	if err := stepfile.RemoveAll(filepath.Dir(dir), filepath.Base(dir)); err != nil {
		fmt.Fprintf(stderr, "baton step-wrap: remove %s: %v\n", dir, err)
	}
}
