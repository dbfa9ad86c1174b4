package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
)

func runRun(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "run", "run PIPELINE [-p NAME=VALUE]... [--watch] [--server URL]")
	params := paramFlag{}
	fs.Var(params, "p", "param as `NAME=VALUE`; repeat for several")
	watch := fs.Bool("watch", false, "follow the run's progress, showing what its steps print, and exit 0 only if it succeeded")
	quiet := fs.Bool("quiet", false, "with --watch: do not show what steps print")
	server := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give exactly one pipeline name")
	}
	c := server.client()
	run, err := c.Trigger(ctx, pos[0], params)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, run.ID)
	if !*watch {
		return nil
	}
	// Step lines come from other goroutines; they share stderr with the
	// progress lines.
	stderr := &lockedWriter{w: env.Stderr}
	p := newProgress(stderr, isTerminal(env.Stderr))
	var logs *apiLogs
	if !*quiet {
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		logs = &apiLogs{ctx: lctx, c: c, following: make(map[string]chan struct{})}
	}
	start := time.Now()
	for {
		detail, err := c.Run(ctx, run.ID)
		if err != nil {
			return err
		}
		if logs != nil {
			if logs.out == nil {
				logs.out = newStepLines(stderr, detail)
			}
			logs.follow(detail)
			logs.drain(detail)
		}
		p.update(detail)
		if detail.Status.Terminal() {
			fmt.Fprintf(stderr, "run %s %s in %s\n", detail.ID, detail.Status, time.Since(start).Round(time.Millisecond))
			if detail.Status != store.RunSucceeded {
				if detail.Error != "" {
					fmt.Fprintf(stderr, "reason: %s\n", api.EscapeControl(detail.Error))
				}
				return exitError{1}
			}
			return nil
		}
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("stopped watching; run %s goes on (cancel it with 'baton runs cancel %s')", run.ID, run.ID)
		}
	}
}
