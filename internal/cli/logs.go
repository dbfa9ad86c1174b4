package cli

import (
	"context"
	"fmt"
)

func runLogs(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "logs", "logs RUN [STEP] [-f]")
	follow := fs.Bool("f", false, "follow: keep printing until the step (or, without STEP, every step) has ended")
	server := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("give a run id and, optionally, a step name")
	}
	c := server.client()
	if len(pos) == 2 {
		return c.Logs(ctx, pos[0], pos[1], *follow, env.Stdout)
	}
	run, err := c.Run(ctx, pos[0])
	if err != nil {
		return err
	}
	for _, s := range run.Steps {
		fmt.Fprintf(env.Stdout, "==> %s <==\n", s.Name)
		if err := c.Logs(ctx, run.ID, s.Name, *follow, env.Stdout); err != nil {
			return err
		}
	}
	return nil
}
