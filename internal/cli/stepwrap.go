package cli

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/baton-dev/baton/internal/stepwrap"
)

// forwarded are the signals step-wrap passes on to the step's command.
var forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// runStepWrap runs a step's command inside its container and delivers the
// output file through the callback (see package stepwrap). Everything
// after the flags, or after --, is the command, verbatim.
func runStepWrap(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "step-wrap", "step-wrap [--install PATH] -- COMMAND [ARG...]")
	install := fs.String("install", "", "copy baton's own binary to `PATH` and exit, instead of running a command")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.printHelp(env.Stdout)
			return err
		}
		return usageError{cmd: fs.path, msg: fs.explain(err)}
	}
	if *install != "" {
		if fs.NArg() > 0 {
			return usagef("--install takes no command")
		}
		return stepwrap.Install(*install)
	}
	if fs.NArg() == 0 {
		return usageError{cmd: fs.path, msg: "no command given; use baton step-wrap -- COMMAND [ARG...]"}
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	code := stepwrap.Run(ctx, stepwrap.Options{
		Command: fs.Args(),
		Env:     os.Environ(),
		Stdin:   env.Stdin,
		Stdout:  env.Stdout,
		Stderr:  env.Stderr,
		Signals: sigs,
	})
	if code != 0 {
		return exitError{code}
	}
	return nil
}
