// Package executortest is the conformance suite every [executor.Executor]
// must pass. Each backend's tests call [Run] with a real engine behind it.
//
// # Engines that play commands
//
// Some engines under test run no command at all: kwok plays a Kubernetes
// cluster's nodes, a fake plays a cloud's container service. They pass the
// suite through [RunPlayed] and a [Player]. Every case declares, as a
// [Script], what its command does: the code it exits with, the lines it
// prints, whether it runs until stopped. The player changes each case's
// spec so that its engine plays that script instead of running the
// command; kwok's stages, for one, read the exit code from a variable in
// the pod's environment. Under [Run] scripts play no part: every case runs
// its command for real.
//
// What cannot be played is skipped by what it needs, with the reason:
// cases that check what a running command sees or does (its environment,
// its secret and token files, what baton makes of the output file it
// writes) need a command that runs, and the Logs case needs a player that
// can play log lines ([Player.Logs]). Every other case runs under a
// player as it does under [Run], with the same checks.
package executortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

// waitTimeout bounds every blocking call, so a broken executor fails the
// suite instead of hanging it.
const waitTimeout = 2 * time.Minute

// Run exercises the executor returned by newExec, which is called once per
// subtest. image is used as [executor.Spec.Image]; it must provide sh, echo,
// printf, test, sleep, cat, head, tr, dirname, ln, mkdir, mkfifo and mknod.
// Executors that ignore images may pass "".
//
// Besides the contract's ordinary cases, every executor must survive a
// hostile step: one that replaces its output file with links, a pipe, a
// device or a huge file (see hostileOutput).
func Run(t *testing.T, newExec func(t *testing.T) executor.Executor, image string) {
	run(t, suite{newExec: newExec, image: image})
}

func run(t *testing.T, s suite) {
	t.Run("ExitZero", s.exitZero)
	t.Run("ExitNonZero", s.exitNonZero)
	t.Run("EnvVisible", s.envVisible)
	t.Run("EnvVerbatim", s.envVerbatim)
	t.Run("OutputEnvSet", s.outputEnvSet)
	t.Run("NoOutput", s.noOutput)
	t.Run("Logs", s.logs)
	t.Run("Stop", s.stop)
	t.Run("RemoveIdempotent", s.removeIdempotent)
	t.Run("RemoveRunning", s.removeRunning)
	t.Run("Secrets", s.secrets)
	t.Run("SecretsRemovedWhileRunning", s.secretsRemovedWhileRunning)
	t.Run("SecretBadName", s.secretBadName)
	t.Run("TokenFile", s.tokenFile)
	t.Run("HostileOutput", s.hostileOutput)
}

// EnvSecretsDir names the variable through which every executor tells a
// step where its secret files are: [executor.SecretsDir] in a container, a
// host directory for the process executor.
const EnvSecretsDir = "BATON_SECRETS_DIR"

type suite struct {
	newExec func(t *testing.T) executor.Executor
	image   string
	// player, when set, makes the engine play each case's script.
	player *Player
}

// spec is the spec of an attempt that runs command, which does what
// script says.
func (s suite) spec(t *testing.T, env map[string]string, script Script, command ...string) *executor.Spec {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	step := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	spec := &executor.Spec{
		RunID:   "test-" + hex.EncodeToString(b[:]),
		Step:    step,
		Attempt: 1,
		Image:   s.image,
		Command: command,
		Env:     env,
		Pull:    executor.PullNever,
	}
	s.play(t, spec, script)
	return spec
}

// start starts spec and removes what it created when the test ends.
func start(t *testing.T, e executor.Executor, spec *executor.Spec) *executor.Handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	h, err := e.Start(ctx, spec)
	if h != nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := e.Remove(ctx, h); err != nil {
				t.Errorf("Remove: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("Start(%q): %v", spec.Command, err)
	}
	if h.Executor != e.Name() {
		t.Errorf("Handle.Executor = %q, want %q", h.Executor, e.Name())
	}
	if h.ID == "" {
		t.Error("Handle.ID is empty")
	}
	return h
}

func wait(t *testing.T, e executor.Executor, h *executor.Handle) *executor.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r, err := e.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return r
}

// run starts command, waits for it and returns the result.
func (s suite) run(t *testing.T, env map[string]string, script Script, command ...string) *executor.Result {
	t.Helper()
	e := s.newExec(t)
	return wait(t, e, start(t, e, s.spec(t, env, script, command...)))
}

func (s suite) exitZero(t *testing.T) {
	t.Parallel()
	e := s.newExec(t)
	h := start(t, e, s.spec(t, nil, Script{}, "sh", "-c", "exit 0"))
	r := wait(t, e, h)
	if r.ExitCode != 0 {
		t.Errorf("ExitCode = %d, want 0", r.ExitCode)
	}
	if r.FinishedAt.IsZero() {
		t.Error("FinishedAt is zero")
	}
	if r.OOMKilled {
		t.Error("OOMKilled = true")
	}
	// Waiting again for an exited attempt gives the same answer.
	if again := wait(t, e, h); again.ExitCode != r.ExitCode || !again.FinishedAt.Equal(r.FinishedAt) {
		t.Errorf("second Wait = %+v, want %+v", again, r)
	}
}

func (s suite) exitNonZero(t *testing.T) {
	t.Parallel()
	if r := s.run(t, nil, Script{ExitCode: 3}, "sh", "-c", "exit 3"); r.ExitCode != 3 {
		t.Errorf("ExitCode = %d, want 3", r.ExitCode)
	}
}

func (s suite) envVisible(t *testing.T) {
	t.Parallel()
	s.needsRun(t, "the environment the command sees")
	r := s.run(t, map[string]string{"BATON_VAR_X": "hello"}, Script{},
		"sh", "-c", `echo "got=$BATON_VAR_X" >> "$BATON_OUTPUT"`)
	if r.ExitCode != 0 {
		t.Fatalf("ExitCode = %d, want 0", r.ExitCode)
	}
	if got, want := string(r.Output), "got=hello\n"; got != want {
		t.Errorf("Output = %q, want %q", got, want)
	}
}

func (s suite) envVerbatim(t *testing.T) {
	t.Parallel()
	s.needsRun(t, "the environment the command sees")
	value := `a  b "c" 'd' $(echo injected) ${HOME} ` + "`id`;\nsecond line\\n"
	r := s.run(t, map[string]string{"BATON_VAR_X": value}, Script{},
		"sh", "-c", `printf '%s' "$BATON_VAR_X" > "$BATON_OUTPUT"`)
	if r.ExitCode != 0 {
		t.Fatalf("ExitCode = %d, want 0", r.ExitCode)
	}
	if got := string(r.Output); got != value {
		t.Errorf("Output = %q, want %q", got, value)
	}
}

func (s suite) outputEnvSet(t *testing.T) {
	t.Parallel()
	s.needsRun(t, "the output file the command is given")
	// Exit codes say which check failed.
	r := s.run(t, nil, Script{}, "sh", "-c",
		`test -n "$BATON_OUTPUT" || exit 10; test -f "$BATON_OUTPUT" || exit 11; test -w "$BATON_OUTPUT" || exit 12`)
	if r.ExitCode != 0 {
		t.Errorf("ExitCode = %d, want 0 (10: %s unset, 11: not a file, 12: not writable)",
			r.ExitCode, executor.EnvOutput)
	}
}

func (s suite) noOutput(t *testing.T) {
	t.Parallel()
	r := s.run(t, nil, Script{Logs: []executor.LogLine{{Stream: "stdout", Text: "to-stdout-only"}}},
		"sh", "-c", "echo to-stdout-only")
	if r.ExitCode != 0 {
		t.Fatalf("ExitCode = %d, want 0", r.ExitCode)
	}
	if len(r.Output) != 0 {
		t.Errorf("Output = %q, want none", r.Output)
	}
}

func (s suite) logs(t *testing.T) {
	t.Parallel()
	e := s.newExec(t)
	lf, ok := e.(executor.LogFollower)
	if !ok {
		t.Skipf("%s does not implement executor.LogFollower", e.Name())
	}
	if s.player != nil && !s.player.Logs {
		t.Skipf("%s plays commands instead of running them, and cannot play the lines they print", s.player.Name)
	}
	script := Script{Logs: []executor.LogLine{
		{Stream: "stdout", Text: "out1"}, {Stream: "stderr", Text: "err1"},
		{Stream: "stdout", Text: "out2"}, {Stream: "stderr", Text: "err2"},
	}}
	h := start(t, e, s.spec(t, nil, script, "sh", "-c", "echo out1; echo err1 >&2; sleep 1; echo out2; echo err2 >&2"))

	// One follower runs while the attempt runs, alongside Wait.
	var live []executor.LogLine
	var liveErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		liveErr = lf.FollowLogs(ctx, h, func(l executor.LogLine) { live = append(live, l) })
	}()
	if r := wait(t, e, h); r.ExitCode != 0 {
		t.Errorf("ExitCode = %d, want 0", r.ExitCode)
	}
	wg.Wait()
	if liveErr != nil {
		t.Fatalf("FollowLogs while running: %v", liveErr)
	}
	s.checkLines(t, "while running", live, script.Logs)

	// Another starts after the attempt exited and still sees every line.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var late []executor.LogLine
	if err := lf.FollowLogs(ctx, h, func(l executor.LogLine) { late = append(late, l) }); err != nil {
		t.Fatalf("FollowLogs after exit: %v", err)
	}
	s.checkLines(t, "after exit", late, script.Logs)
}

// checkLines checks that lines are what the command printed, printed as
// want, each stream in its order. Lines of different streams need not
// keep their order among each other: an engine logs streams apart. An
// executor that reports every line as stdout ([Player.OneStream]) must
// still keep each stream's lines in their order.
func (s suite) checkLines(t *testing.T, when string, lines, want []executor.LogLine) {
	t.Helper()
	stream := func(l executor.LogLine) string { return l.Stream }
	if s.player != nil && s.player.OneStream {
		stream = func(executor.LogLine) string { return "stdout" }
	}
	byStream := map[string][]string{}
	for _, l := range lines {
		if l.Time.IsZero() {
			t.Errorf("%s: line %q has no time", when, l.Text)
		}
		byStream[l.Stream] = append(byStream[l.Stream], l.Text)
	}
	wantStreams := map[string]bool{}
	for _, w := range want {
		wantStreams[stream(w)] = true
	}
	// What each stream of the command printed, picked out of the stream
	// it is reported on.
	printed := map[string][]string{}
	for _, w := range want {
		printed[w.Stream] = append(printed[w.Stream], w.Text)
	}
	for name, texts := range printed {
		reportedOn := stream(executor.LogLine{Stream: name})
		var got []string
		for _, text := range byStream[reportedOn] {
			if slices.Contains(texts, text) {
				got = append(got, text)
			}
		}
		if !slices.Equal(got, texts) {
			t.Errorf("%s: the %s lines, reported on %s, = %q, want %q", when, name, reportedOn, got, texts)
		}
	}
	if n := len(lines); n != len(want) {
		t.Errorf("%s: %d lines, want %d", when, n, len(want))
	}
	if len(byStream) != len(wantStreams) || !allIn(byStream, wantStreams) {
		t.Errorf("%s: streams = %v, want %v only", when, keys(byStream), keys(wantStreams))
	}
}

func allIn[V, W any](m map[string]V, set map[string]W) bool {
	for k := range m {
		if _, ok := set[k]; !ok {
			return false
		}
	}
	return true
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (s suite) stop(t *testing.T) {
	t.Parallel()
	e := s.newExec(t)
	h := start(t, e, s.spec(t, nil, Script{UntilStopped: true}, "sleep", "60"))
	const grace = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	begin := time.Now()
	if err := e.Stop(ctx, h, grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r := wait(t, e, h)
	// Generous: this guards against Stop ignoring grace, not against a slow
	// machine.
	if took, limit := time.Since(begin), grace+20*time.Second; took > limit {
		t.Errorf("Stop and Wait took %v, want under %v", took, limit)
	}
	if r.ExitCode == 0 {
		t.Error("ExitCode = 0 after Stop, want non-zero")
	}
}

func (s suite) removeIdempotent(t *testing.T) {
	t.Parallel()
	e := s.newExec(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	h, err := e.Start(ctx, s.spec(t, nil, Script{}, "sh", "-c", "echo x=1 > \"$BATON_OUTPUT\""))
	if err != nil {
		if h != nil {
			_ = e.Remove(ctx, h)
		}
		t.Fatalf("Start: %v", err)
	}
	wait(t, e, h)
	for i := range 2 {
		if err := e.Remove(ctx, h); err != nil {
			t.Fatalf("Remove #%d: %v", i+1, err)
		}
	}
	if _, err := e.Wait(ctx, h); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Wait after Remove: err = %v, want %v", err, executor.ErrNotFound)
	}
}

func (s suite) removeRunning(t *testing.T) {
	t.Parallel()
	e := s.newExec(t)
	h := start(t, e, s.spec(t, nil, Script{UntilStopped: true}, "sleep", "60"))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.Remove(ctx, h); err != nil {
		t.Fatalf("Remove while running: %v", err)
	}
	if _, err := e.Wait(ctx, h); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Wait after Remove: err = %v, want %v", err, executor.ErrNotFound)
	}
}

// secretValue is binary, with a newline, so that only a byte-exact copy
// matches.
const secretValue = "hunter2-\x00\xff\nline2"

func (s suite) secrets(t *testing.T) {
	t.Parallel()
	s.needsRun(t, "the secret files the command reads")
	e := s.newExec(t)
	spec := s.spec(t, map[string]string{EnvSecretsDir: "/ignored"}, Script{}, "sh", "-c",
		`test -n "$BATON_SECRETS_DIR" || exit 10
		test "$BATON_SECRETS_DIR" != /ignored || exit 11
		env | grep -q hunter2 && exit 12
		{ cat "$BATON_SECRETS_DIR/token" && printf '\n--\n%s' "$BATON_SECRETS_DIR"; } > "$BATON_OUTPUT"`)
	spec.Secrets = map[string][]byte{"token": []byte(secretValue), "other.json": []byte("{}")}
	h := start(t, e, spec)
	r := wait(t, e, h)
	if r.ExitCode != 0 {
		t.Fatalf("ExitCode = %d, want 0 (10: %s unset, 11: the step's value not replaced, 12: secret in the environment, 1: file unreadable)",
			r.ExitCode, EnvSecretsDir)
	}
	got, dir, ok := strings.Cut(string(r.Output), "\n--\n")
	if !ok || got != secretValue {
		t.Fatalf("Output = %q, want the secret %q, then --, then the directory", r.Output, secretValue)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.Remove(ctx, h); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	// A directory the step saw by its host path must be gone; one mounted
	// into a container is checked by the backend's own tests.
	if dir != executor.SecretsDir {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("secrets directory %s after Remove: err = %v, want it gone", dir, err)
		}
	}
}

func (s suite) secretsRemovedWhileRunning(t *testing.T) {
	t.Parallel()
	e := s.newExec(t)
	spec := s.spec(t, nil, Script{UntilStopped: true}, "sleep", "60")
	spec.Secrets = map[string][]byte{"token": []byte(secretValue)}
	h := start(t, e, spec)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.Remove(ctx, h); err != nil {
		t.Fatalf("Remove while running: %v", err)
	}
}

func (s suite) secretBadName(t *testing.T) {
	t.Parallel()
	e := s.newExec(t)
	for _, name := range []string{"", ".", "..", "../escape", "a/b", executor.TokenFile} {
		spec := s.spec(t, nil, Script{}, "true")
		spec.Secrets = map[string][]byte{name: []byte("x")}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		h, err := e.Start(ctx, spec)
		if h != nil {
			_ = e.Remove(ctx, h)
		}
		cancel()
		if err == nil {
			t.Errorf("Start with secret named %q succeeded, want an error", name)
		}
	}
}
