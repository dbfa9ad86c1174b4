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
	"strings"
	"syscall"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// Env is what a command may touch: its output streams and environment.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

var commands []command

func init() {
	// A plain list, not registration by side effect: the order is the help's.
	commands = []command{
		{"exec", "run a pipeline once, here, and wait for it", runExec},
		{"server", "serve the API, run pipelines and their schedules", runServer},
		{"apply", "store pipeline definitions on a server", runApply},
		{"run", "start a run of a pipeline on a server", runRun},
		{"runs", "list, show or cancel runs on a server", runRuns},
		{"logs", "print a run's step logs", runLogs},
		{"secrets", "set, list and remove secrets steps may use; make and rotate keys", runSecrets},
		{"tokens", "create, list and revoke API tokens", runTokens},
		{"audit", "show who changed what through the API", runAudit},
		{"version", "print baton's version", func(_ context.Context, env *Env, _ []string) error {
			fmt.Fprintln(env.Stdout, "baton", Version)
			return nil
		}},
	}
}

// exitError ends the program with a code and no further message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is bad command-line input: printed with a hint, exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Main runs baton with args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printHelp(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, env, args[1:])
		var ee exitError
		var ue usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "baton %s: %s\nRun 'baton %s -h' for help.\n", c.name, ue.msg, c.name)
			return 2
		default:
			fmt.Fprintf(stderr, "baton %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "baton: unknown command %q\nRun 'baton help' for the list of commands.\n", args[0])
	return 2
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `baton runs multi-step scripts as containers and hands variables from one step
to the next.

Usage: baton <command> [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'baton <command> -h' for a command's flags. Docs: docs/ in the repository.
`)
}

// newFlags returns a flag set that prints its usage to env.Stderr.
func newFlags(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: baton %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may stand before, between or after positional
// arguments, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// paramFlag collects repeated -p NAME=VALUE flags.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE", v)
	}
	p[name] = value
	return nil
}
