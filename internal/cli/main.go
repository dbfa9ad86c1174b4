// Package cli is baton's command line: one file per command.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/baton-dev/baton/internal/suggest"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// command is one command, or a group of subcommands when run is nil.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
	subs    []*command
}

// Env is what a command may touch: its output streams and environment.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// root holds every command; its order is the help's.
var root *command

func init() {
	// A plain tree, not registration by side effect.
	root = &command{subs: []*command{
		{name: "exec", summary: "run a pipeline once, here, and wait for it", run: runExec},
		{name: "server", summary: "serve the API, run pipelines and their schedules", run: runServer},
		{name: "apply", summary: "store pipeline definitions on a server", run: runApply},
		{name: "run", summary: "start a run of a pipeline on a server", run: runRun},
		{name: "runs", summary: "list, show, cancel, retry or approve runs on a server", subs: []*command{
			{name: "list", summary: "list runs, newest first", run: runsList},
			{name: "get", summary: "show a run: its steps, attempts, exit codes, cleanup and variables", run: runsGet},
			{name: "cancel", summary: "cancel a run: its running steps are stopped and removed", run: runsCancel},
			{name: "retry", summary: "start a new run that re-runs an ended one", run: runsRetry},
			{name: "approve", summary: "approve or reject a step that waits for a decision", run: runsApprove},
		}},
		{name: "pipelines", summary: "list, show or remove pipelines on a server; pause and resume their schedules", subs: []*command{
			{name: "list", summary: "list pipelines: latest revision and schedules", run: pipelinesList},
			{name: "get", summary: "show a pipeline's revision and its definition", run: pipelinesGet},
			{name: "rm", summary: "remove a pipeline; its ended runs stay", run: pipelinesRm},
			{name: "pause", summary: "pause a pipeline's schedules until resumed (runs may still be started by hand)", run: pipelinesPause},
			{name: "resume", summary: "let a pipeline's paused schedules fire again", run: pipelinesResume},
		}},
		{name: "logs", summary: "print a run's step logs, from a server or a data dir", run: runLogs},
		{name: "secrets", summary: "set, list and remove secrets steps may use; make and rotate keys", subs: []*command{
			{name: "set", summary: "store a secret, from standard input or a file", run: secretsSet},
			{name: "list", summary: "list secrets by name, without their values", run: secretsList},
			{name: "rm", summary: "remove a secret", run: secretsRm},
			{name: "keygen", summary: "write a new key file secrets can be sealed with", run: secretsKeygen},
			{name: "rotate", summary: "re-seal every secret with the server's primary key", run: secretsRotate},
		}},
		{name: "tokens", summary: "create, list and revoke API tokens", subs: []*command{
			{name: "create", summary: "make an API token; its value is printed once", run: tokensCreate},
			{name: "list", summary: "list tokens by name and role, without their values", run: tokensList},
			{name: "revoke", summary: "revoke a token; requests with it are refused from then on", run: tokensRevoke},
		}},
		{name: "prune", summary: "delete old runs, with their steps and logs, from a data dir", run: runPrune},
		{name: "audit", summary: "show who changed what through the API", run: runAudit},
		{name: "step-wrap", summary: "run a step's command in its container and post its output file (used by the kubernetes executor)", run: runStepWrap},
		{name: "version", summary: "print baton's version", run: runVersion},
	}}
}

// findCommand returns the command at path ("tokens create"), or nil.
func findCommand(path string) *command {
	c := root
	for _, word := range strings.Fields(path) {
		c = c.sub(word)
		if c == nil {
			return nil
		}
	}
	return c
}

func (c *command) sub(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (c *command) subNames() []string {
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.name
	}
	return names
}

// exitError ends the program with a code and no further message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is bad command-line input: printed with a hint, exit 2.
type usageError struct {
	// cmd is the command whose help to point to; empty for the top level.
	cmd string
	msg string
}

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{msg: fmt.Sprintf(format, args...)} }

// Main runs baton with args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path, err := dispatch(ctx, env, root, "", args)
	var ee exitError
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		if ue.cmd == "" {
			ue.cmd = path
		}
		if ue.cmd == "" {
			fmt.Fprintf(stderr, "baton: %s\nRun 'baton help' for the list of commands.\n", ue.msg)
		} else {
			fmt.Fprintf(stderr, "baton %s: %s\nRun 'baton %s -h' for help.\n", ue.cmd, ue.msg, ue.cmd)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "baton %s: %v\n", path, err)
		return 1
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// dispatch runs the command args name below c (at path) and returns the
// path of the command that ran or refused.
func dispatch(ctx context.Context, env *Env, c *command, path string, args []string) (string, error) {
	if c.run != nil {
		return path, c.run(ctx, env, args)
	}
	if c == root && len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		return "version", runVersion(ctx, env, nil)
	}
	if len(args) > 0 && args[0] == "help" && len(args) > 1 {
		// "baton help tokens create" is "baton tokens create -h".
		return dispatch(ctx, env, c, path, append(args[1:len(args):len(args)], "-h"))
	}
	if len(args) == 0 && c == root || len(args) > 0 && isHelp(args[0]) {
		c.printHelp(env.Stdout, path)
		return path, nil
	}
	if len(args) == 0 {
		return path, usageError{cmd: path, msg: "give a subcommand: " + orList(c.subNames())}
	}
	s := c.sub(args[0])
	if s == nil {
		what := "command"
		if c != root {
			what = "subcommand"
		}
		msg := fmt.Sprintf("unknown %s %q", what, args[0])
		if strings.HasPrefix(args[0], "-") {
			msg = fmt.Sprintf("%q: give a %s first", args[0], what)
		} else if hint := suggest.Closest(args[0], c.subNames()); hint != "" {
			msg += fmt.Sprintf("; did you mean %q?", strings.TrimSpace(path+" "+hint))
		}
		if c != root {
			msg += "; use " + orList(c.subNames())
		}
		return path, usageError{cmd: path, msg: msg}
	}
	return dispatch(ctx, env, s, strings.TrimSpace(path+" "+s.name), args[1:])
}

// printHelp prints the subcommands of a group; at the root, baton's help.
func (c *command) printHelp(w io.Writer, path string) {
	if c == root {
		fmt.Fprint(w, `baton runs multi-step scripts as containers and hands variables from one step
to the next.

Usage: baton <command> [flags]

Commands:
`)
	} else {
		fmt.Fprintf(w, "Usage: baton %s <subcommand> [flags]\n\n%s.\n\nSubcommands:\n", path, capitalize(c.summary))
	}
	for _, s := range c.subs {
		fmt.Fprintf(w, "  %-9s %s\n", s.name, s.summary)
	}
	if c == root {
		fmt.Fprint(w, `
Run 'baton help <command>' or 'baton <command> -h' for a command's flags;
'baton --version' prints the version. Docs: docs/ in the repository.
`)
		return
	}
	fmt.Fprintf(w, "\nRun 'baton help %s <subcommand>' or 'baton %s <subcommand> -h' for its flags.\n", path, path)
}

// orList formats names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func runVersion(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "version", "version")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, versionString())
	return nil
}

// versionString is "baton VERSION (GOVERSION[, commit REV])", from the
// build's stamp and, for a build from source, its VCS information.
func versionString() string {
	v, extra := Version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		extra = bi.GoVersion
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if modified == "true" {
				rev += "+changes"
			}
			extra += ", commit " + rev
		}
	}
	if extra == "" {
		return "baton " + v
	}
	return "baton " + v + " (" + extra + ")"
}
