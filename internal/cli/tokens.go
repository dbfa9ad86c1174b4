package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/baton-dev/baton/internal/api"
)

func tokensCreate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tokens create", "tokens create --name NAME --role viewer|operator|admin [--local [--data-dir DIR | --store URL]]")
	name := fs.String("name", "", "token `name`, shown in the audit log (required)")
	role := fs.String("role", "", "`role`: viewer (read), operator (also trigger, cancel, retry) or admin (everything)")
	local := fs.Bool("local", false, "store it straight into a data dir, without a server: the way back in when no admin token is left (no server may be using that dir)")
	dataDir := fs.String("data-dir", defaultDataDir(env), "with --local: the `dir` to store it in")
	storeURL := fs.String("store", "", "with --local: store it in the postgres://user@host:port/db `URL` that servers share instead, while they run")
	r := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q; give the name with --name", pos[0])
	}
	if *name == "" || *role == "" {
		return usagef("give --name and --role")
	}
	if *storeURL != "" && !*local {
		return usagef("--store goes with --local; without it the token is made through the server")
	}
	var t *api.Token
	if *local {
		t, err = createLocalToken(ctx, *dataDir, *storeURL, *name, *role)
	} else {
		t, err = r.client().CreateToken(ctx, *name, *role)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "token %q (%s) created; it is shown once, keep it safe:\n", t.Name, t.Role)
	fmt.Fprintln(env.Stdout, t.Token)
	return nil
}

func tokensList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tokens list", "tokens list [--output text|json]")
	output := outputFlag(fs)
	r := remoteFlags(fs, env)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	ts, err := r.client().Tokens(ctx)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(env, ts)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tREVOKED")
	for _, t := range ts {
		revoked := ""
		if t.RevokedAt != nil {
			revoked = t.RevokedAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.Local().Format(time.DateTime), revoked)
	}
	return tw.Flush()
}

func tokensRevoke(ctx context.Context, env *Env, args []string) error {
	return onOne(env, args, "tokens revoke", "token name", func(c *api.Client, name string) (string, error) {
		return "token " + name + " revoked", c.RevokeToken(ctx, name)
	})
}
