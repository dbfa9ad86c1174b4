package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/secret"
)

func secretsSet(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "secrets set", "secrets set NAME [--file F] [--local [--data-dir DIR]]   (the value from standard input, one trailing newline dropped, without --file)")
	file := fs.String("file", "", "read the value from this `file` instead of standard input")
	local := fs.Bool("local", false, "store it straight into a data dir, for 'baton exec' (no server may be using that dir)")
	dataDir := fs.String("data-dir", defaultDataDir(env), "with --local: the `dir` to store it in")
	r := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give exactly one secret name")
	}
	var value []byte
	if *file != "" {
		value, err = os.ReadFile(*file)
	} else {
		value, err = io.ReadAll(io.LimitReader(env.Stdin, 1<<20))
		// echo and here-documents end with a newline that is not part of
		// the secret; a file given with --file is taken as it is.
		value = bytes.TrimSuffix(bytes.TrimSuffix(value, []byte("\n")), []byte("\r"))
	}
	if err != nil {
		return fmt.Errorf("read the secret's value: %w", err)
	}
	if *local {
		err = setLocalSecret(ctx, env, *dataDir, pos[0], value)
	} else {
		err = r.client().SetSecret(ctx, pos[0], value)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "secret %s set (%d bytes)\n", pos[0], len(value))
	return nil
}

func secretsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "secrets list", "secrets list [--output text|json]")
	output := outputFlag(fs)
	r := remoteFlags(fs, env)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	ss, err := r.client().Secrets(ctx)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(env, ss)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCREATED\tUPDATED")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.CreatedAt.Local().Format(time.DateTime), s.UpdatedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

func secretsRm(ctx context.Context, env *Env, args []string) error {
	return onOne(env, args, "secrets rm", "secret name", func(c *api.Client, name string) (string, error) {
		return "secret " + name + " removed", c.DeleteSecret(ctx, name)
	})
}

func secretsKeygen(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "secrets keygen", "secrets keygen FILE")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give the key file to create")
	}
	if err := secret.GenerateKeyFile(pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "new key in %s (mode 0600)\n", pos[0])
	return nil
}

func secretsRotate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "secrets rotate", "secrets rotate")
	r := remoteFlags(fs, env)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	n, err := r.client().RotateSecrets(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d secrets re-sealed with the primary key; older keys may now be dropped\n", n)
	return nil
}
