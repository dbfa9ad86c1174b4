package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/baton-dev/baton/internal/api"
)

func runAudit(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit", "audit [--limit N] [--output text|json]")
	limit := fs.Int("limit", 50, "at most `n` entries, newest first")
	output := outputFlag(fs)
	r := remoteFlags(fs, env)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	es, err := r.client().Audit(ctx, *limit)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(env, es)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tDETAIL")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.Actor, e.Action, e.Target, api.EscapeControl(e.Detail))
	}
	return tw.Flush()
}

// onOne runs a client command that acts on exactly one named thing and says
// what it did.
func onOne(env *Env, args []string, cmd, what string, act func(c *api.Client, name string) (string, error)) error {
	fs := newFlags(env, cmd, cmd+" "+strings.ToUpper(strings.ReplaceAll(what, " ", "_")))
	r := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give exactly one %s", what)
	}
	done, err := act(r.client(), pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, done)
	return nil
}

// noArgs parses the flags of a command that takes no positional arguments.
func noArgs(fs *cmdFlags, args []string) error {
	pos, err := parse(fs, args)
	if err == nil && len(pos) > 0 {
		err = usageError{cmd: fs.path, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	return err
}
