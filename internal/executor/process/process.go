// Package process runs each step attempt as a local process, for machines
// without a container engine and for tests. It ignores the step's image: the
// command runs directly on the host, with only the step's environment.
//
// There is no isolation to configure: a spec that asks for a user, a
// read-only root, capabilities or resource limits is refused rather than
// run without them, when its pipeline is applied ([Executor.CheckSpec])
// and again by [Executor.Start]. Secrets are files in a
// per-attempt directory on a tmpfs, named by $BATON_SECRETS_DIR, since a
// process cannot be shown a private [executor.SecretsDir]; so is the
// attempt's token.
//
// The command runs as baton's own user, so it can change anything in its
// scratch directory. Baton reads and removes what is there only through
// [stepfile], which follows no link and bounds every read.
package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/stepfile"
)

// Options configure an [Executor].
type Options struct {
	// Dir holds one scratch directory per attempt; empty means
	// os.TempDir()/baton-process.
	Dir string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// SecretsDir is a directory on a tmpfs holding one secrets directory per
	// attempt that has secrets; empty means [executor.DefaultSecretsDir].
	SecretsDir string
}

// Executor runs attempts as child processes of this process. It only knows
// the attempts it started: a handle from an earlier life of the server is
// reported as [executor.ErrNotFound]. Re-attaching after a restart is not
// supported yet.
type Executor struct {
	dir        string
	secretsDir string
	logger     *slog.Logger

	mu       sync.Mutex
	attempts map[string]*attempt // by Handle.Dir, which is unique per attempt
}

var (
	_ executor.Executor    = (*Executor)(nil)
	_ executor.LogFollower = (*Executor)(nil)
	_ executor.Checker     = (*Executor)(nil)
)

// Limits on what one attempt keeps; variables so tests can shrink them.
var (
	maxLine     = 64 << 10 // longer lines are split
	memLogLimit = 1 << 20  // bytes of log text kept in memory per attempt
	// drainTimeout bounds how long, after the command exits, baton waits for
	// processes that escaped its process group to close stdout and stderr.
	drainTimeout = 2 * time.Second
	// readTimeout bounds reading the output file after the command exits.
	readTimeout = 30 * time.Second
)

type attempt struct {
	pid    int
	output string
	logs   *logBook
	done   chan struct{} // closed once result is set
	result executor.Result
}

// New returns a process executor.
func New(opts Options) *Executor {
	if opts.Dir == "" {
		opts.Dir = filepath.Join(os.TempDir(), "baton-process")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SecretsDir == "" {
		opts.SecretsDir = executor.DefaultSecretsDir
	}
	return &Executor{
		dir:        opts.Dir,
		secretsDir: filepath.Clean(opts.SecretsDir),
		logger:     opts.Logger,
		attempts:   make(map[string]*attempt),
	}
}

// Name implements [executor.Executor].
func (*Executor) Name() string { return "process" }

// Start implements [executor.Executor]. The command runs without a shell, in
// its own process group, as baton's user, with the step's environment plus
// PATH and HOME from the host when the step does not set them,
// [executor.EnvOutput] and BATON_SECRETS_DIR. With a token, the secrets
// directory holds it as the 0400 file [executor.TokenFile], named by
// [executor.EnvTokenFile], and [executor.EnvToken] holds it too: a process's
// environment is as private as its files. The secrets directory exists only
// when the step has secrets or a token. A spec [Executor.CheckSpec] refuses
// is refused before anything is made.
func (e *Executor) Start(ctx context.Context, spec *executor.Spec) (*executor.Handle, error) {
	if err := e.CheckSpec(spec); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	env := environ(spec.Env)
	path, err := lookPath(spec.Command[0], env["PATH"])
	if err != nil {
		return nil, fmt.Errorf("process: start %q: %w", spec.Command[0], err)
	}
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	dir, err := os.MkdirTemp(e.dir, attemptPrefix(spec))
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	env[executor.EnvSecretsDir] = e.secretsPath(dir)
	var a *attempt
	if len(spec.Secrets) > 0 || spec.Token != "" {
		err = e.writeSecrets(e.secretsPath(dir), spec.Secrets, spec.Token)
	}
	if spec.Token != "" {
		env[executor.EnvToken] = spec.Token
		env[executor.EnvTokenFile] = filepath.Join(e.secretsPath(dir), executor.TokenFile)
	}
	if err == nil {
		a, err = e.launch(dir, path, spec.Command, env)
		err = wrapStart(spec, err)
	}
	if err != nil {
		if rerr := e.removeDirs(dir); rerr != nil {
			e.logger.Warn("process: remove scratch dir", "dir", dir, "err", rerr)
		}
		return nil, err
	}
	e.mu.Lock()
	e.attempts[dir] = a
	e.mu.Unlock()
	e.logger.Debug("process: started", "run_id", spec.RunID, "step", spec.Step,
		"attempt", spec.Attempt, "pid", a.pid, "dir", dir)
	return &executor.Handle{Executor: e.Name(), ID: strconv.Itoa(a.pid), Dir: dir}, nil
}

func (e *Executor) launch(dir, path string, argv []string, env map[string]string) (*attempt, error) {
	output := filepath.Join(dir, "output")
	if err := os.WriteFile(output, nil, 0o600); err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		return nil, err
	}
	env[executor.EnvOutput] = output
	logs, err := newLogBook(filepath.Join(dir, "log"), memLogLimit)
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		logs.release()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		logs.release()
		outR.Close()
		outW.Close()
		return nil, err
	}
	// Our own pipes rather than exec's copying goroutines, so that the end
	// of the command is seen at once even if a child still holds the pipes.
	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         envList(env),
		Dir:         work,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		logs.release()
		outR.Close()
		errR.Close()
		return nil, err
	}
	a := &attempt{pid: cmd.Process.Pid, output: output, logs: logs, done: make(chan struct{})}
	go e.run(a, cmd, outR, errR)
	return a, nil
}

// run collects the attempt's logs and exit status.
func (e *Executor) run(a *attempt, cmd *exec.Cmd, outR, errR *os.File) {
	var readers sync.WaitGroup
	readers.Add(2)
	go a.copyLines(&readers, outR, "stdout")
	go a.copyLines(&readers, errR, "stderr")

	waitErr := cmd.Wait()
	finished := time.Now()
	// As in a container, nothing the command left running outlives it.
	_ = syscall.Kill(-a.pid, syscall.SIGKILL)

	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		e.logger.Warn("process: output still open after exit; closing it", "pid", a.pid)
	}
	outR.Close() // also ends readers stuck on a process that left the group
	errR.Close()
	<-drained
	if err := a.logs.close(); err != nil {
		e.logger.Warn("process: write log", "pid", a.pid, "err", err)
	}

	a.result.FinishedAt = finished
	a.result.ExitCode = exitCode(cmd.ProcessState)
	if cmd.ProcessState == nil {
		e.logger.Warn("process: wait", "pid", a.pid, "err", waitErr)
	}
	a.result.Output, a.result.OutputError = readOutput(a.output)
	if a.result.OutputError != nil {
		e.logger.Warn("process: output file refused", "pid", a.pid, "err", a.result.OutputError)
	}
	close(a.done)
}

// readOutput reads the output file the command may have replaced with
// anything, through [stepfile.Read]; an empty file is no output.
func readOutput(path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	out, err := stepfile.Read(ctx, filepath.Dir(path), filepath.Base(path), contract.MaxInputBytes+1)
	switch {
	case errors.Is(err, stepfile.ErrRefused):
		return nil, fmt.Errorf("output file: %s is not a plain file (%w); write the outputs into the file itself", executor.EnvOutput, err)
	case err != nil:
		return nil, fmt.Errorf("output file: %w", err)
	case len(out) == 0:
		return nil, nil
	}
	return out, nil
}

// copyLines turns one output pipe into log lines, splitting lines longer than
// maxLine into pieces marked [executor.LogLine.Partial] but for the last.
func (a *attempt) copyLines(wg *sync.WaitGroup, f *os.File, stream string) {
	defer wg.Done()
	r := bufio.NewReaderSize(f, maxLine)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			text := strings.TrimSuffix(string(line), "\n")
			partial := errors.Is(err, bufio.ErrBufferFull)
			a.logs.append(executor.LogLine{Time: time.Now(), Stream: stream, Text: text, Partial: partial})
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Wait implements [executor.Executor].
func (e *Executor) Wait(ctx context.Context, h *executor.Handle) (*executor.Result, error) {
	a, err := e.lookup(h)
	if err != nil {
		return nil, err
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r := a.result
	r.Output = append([]byte(nil), a.result.Output...)
	if len(r.Output) == 0 {
		r.Output = nil
	}
	return &r, nil
}

// Stop implements [executor.Executor]: SIGTERM to the process group, SIGKILL
// after grace. It returns once the command has exited.
func (e *Executor) Stop(ctx context.Context, h *executor.Handle, grace time.Duration) error {
	a, err := e.lookup(h)
	if err != nil {
		return err
	}
	select {
	case <-a.done:
		return nil
	default:
	}
	_ = syscall.Kill(-a.pid, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-a.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	_ = syscall.Kill(-a.pid, syscall.SIGKILL)
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Remove implements [executor.Executor]: it kills the attempt if it still
// runs and deletes its scratch directory. A scratch directory left by an
// earlier life of the server is deleted too.
func (e *Executor) Remove(ctx context.Context, h *executor.Handle) error {
	if h.Executor != e.Name() {
		return nil
	}
	e.mu.Lock()
	a := e.attempts[h.Dir]
	e.mu.Unlock()
	if a != nil {
		_ = syscall.Kill(-a.pid, syscall.SIGKILL)
		select {
		case <-a.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		a.logs.release()
	} else {
		killOrphan(h)
	}
	if e.owns(h.Dir) {
		if err := e.removeDirs(h.Dir); err != nil {
			return fmt.Errorf("process: remove attempt %s: %w", h.ID, err)
		}
	}
	e.mu.Lock()
	delete(e.attempts, h.Dir)
	e.mu.Unlock()
	return nil
}

// FollowLogs implements [executor.LogFollower]. Lines are kept until
// [Executor.Remove], so a follower may start after the attempt exited.
func (e *Executor) FollowLogs(ctx context.Context, h *executor.Handle, fn func(executor.LogLine)) error {
	a, err := e.lookup(h)
	if err != nil {
		return err
	}
	if err := a.logs.follow(ctx, fn); err != nil {
		return fmt.Errorf("process: logs of %s: %w", h.ID, err)
	}
	return nil
}

func (e *Executor) lookup(h *executor.Handle) (*attempt, error) {
	e.mu.Lock()
	a := e.attempts[h.Dir]
	e.mu.Unlock()
	if a == nil || h.Executor != e.Name() || strconv.Itoa(a.pid) != h.ID {
		return nil, fmt.Errorf("process: attempt %q: %w", h.ID, executor.ErrNotFound)
	}
	return a, nil
}

// removeDirs deletes an attempt's secrets, then its scratch directory,
// which the command may have filled with links: none is followed.
func (e *Executor) removeDirs(dir string) error {
	if err := stepfile.RemoveAll(e.secretsDir, filepath.Base(dir)); err != nil {
		return err
	}
	return stepfile.RemoveAll(filepath.Dir(dir), filepath.Base(dir))
}

func wrapStart(spec *executor.Spec, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("process: start %q: %w", spec.Command[0], err)
}

// owns reports whether dir is a scratch directory under e.dir, so Remove never
// deletes anything else whatever a handle says.
func (e *Executor) owns(dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(e.dir, dir)
	return err == nil && rel != "." && filepath.Dir(rel) == "." && rel != ".."
}

// killOrphan kills the process group of an attempt an earlier life of baton
// started, which this one cannot wait for. The pid is trusted only if that
// process still runs in the attempt's own work directory, so a reused pid is
// never killed.
func killOrphan(h *executor.Handle) {
	pid, err := strconv.Atoi(h.ID)
	if err != nil || pid <= 1 || h.Dir == "" {
		return
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil || cwd != filepath.Join(h.Dir, "work") {
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
