package executortest

import (
	"testing"

	"github.com/baton-dev/baton/internal/executor"
)

// Script is what a case's command does, said so that a [Player] can make
// an engine play it.
type Script struct {
	// ExitCode is the command's exit status.
	ExitCode int
	// Logs are the lines the command prints, in the order it prints them;
	// only Stream and Text are set.
	Logs []executor.LogLine
	// UntilStopped says the command runs until it is stopped or removed;
	// otherwise it ends on its own within a few seconds.
	UntilStopped bool
}

// Player makes an engine that runs no command play the ones the suite's
// cases give instead (see the package doc).
type Player struct {
	// Name says what plays the commands, for the reasons cases are
	// skipped with, e.g. "kwok".
	Name string
	// Image is every spec's [executor.Spec.Image].
	Image string
	// Play is called with every case's spec before the case starts it;
	// spec runs the case's command, and Play changes it so that the
	// engine plays script instead: by variables in spec.Env that the
	// engine reads, or by what it sets up beside the engine for spec's
	// attempt, which it removes through t.Cleanup. It may fail t.
	Play func(t *testing.T, spec *executor.Spec, script Script)
	// Logs says that Play makes the engine print script.Logs as the
	// attempt's log. Without it the Logs case is skipped.
	Logs bool
	// OneStream says the executor reports every line as stdout, as one
	// on a Kubernetes cluster without split log streams does: the Logs
	// case then wants each stream's lines, in their order, among the
	// stdout lines.
	OneStream bool
}

// RunPlayed is [Run] for an engine that plays commands instead of running
// them: each case's spec passes through p.Play. Cases that need a command
// that really runs are skipped, saying so; see the package doc.
func RunPlayed(t *testing.T, newExec func(t *testing.T) executor.Executor, p Player) {
	if p.Play == nil || p.Name == "" {
		t.Fatal("executortest: a Player needs a Name and a Play function")
	}
	run(t, suite{newExec: newExec, image: p.Image, player: &p})
}

// needsRun skips the case under a player: it checks what a running
// command sees or does, which nothing can play.
func (s suite) needsRun(t *testing.T, checks string) {
	t.Helper()
	if s.player != nil {
		t.Skipf("%s plays commands instead of running them, and this case needs a command that runs: it checks %s", s.player.Name, checks)
	}
}

// play hands spec to the player, if there is one.
func (s suite) play(t *testing.T, spec *executor.Spec, script Script) {
	t.Helper()
	if s.player != nil {
		s.player.Play(t, spec, script)
	}
}
