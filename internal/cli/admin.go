package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/vault"
)

func runTokens(ctx context.Context, env *Env, args []string) error {
	sub, args := subcommand(args)
	switch sub {
	case "create":
		fs := newFlags(env, "tokens create", "tokens create --name NAME --role viewer|operator|admin")
		name := fs.String("name", "", "token `name`, shown in the audit log (required)")
		role := fs.String("role", "", "`role`: viewer (read), operator (also trigger, cancel, retry) or admin (everything)")
		r := remoteFlags(fs, env)
		if _, err := parse(fs, args); err != nil {
			return err
		}
		if *name == "" || *role == "" {
			return usagef("give --name and --role")
		}
		t, err := r.client().CreateToken(ctx, *name, *role)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "token %q (%s) created; it is shown once, keep it safe:\n", t.Name, t.Role)
		fmt.Fprintln(env.Stdout, t.Token)
		return nil
	case "list":
		fs := newFlags(env, "tokens list", "tokens list")
		r := remoteFlags(fs, env)
		if _, err := parse(fs, args); err != nil {
			return err
		}
		ts, err := r.client().Tokens(ctx)
		if err != nil {
			return err
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
	case "revoke":
		return onOne(env, args, "tokens revoke", "token name", func(c *api.Client, name string) (string, error) {
			return "token " + name + " revoked", c.RevokeToken(ctx, name)
		})
	}
	return usagef("give a subcommand: create, list or revoke")
}

func runSecrets(ctx context.Context, env *Env, args []string) error {
	sub, args := subcommand(args)
	switch sub {
	case "set":
		fs := newFlags(env, "secrets set", "secrets set NAME [--file F]   (value from standard input, one trailing newline dropped, without --file)")
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
	case "list":
		fs := newFlags(env, "secrets list", "secrets list")
		r := remoteFlags(fs, env)
		if _, err := parse(fs, args); err != nil {
			return err
		}
		ss, err := r.client().Secrets(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tUPDATED")
		for _, s := range ss {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.CreatedAt.Local().Format(time.DateTime), s.UpdatedAt.Local().Format(time.DateTime))
		}
		return tw.Flush()
	case "rm":
		return onOne(env, args, "secrets rm", "secret name", func(c *api.Client, name string) (string, error) {
			return "secret " + name + " removed", c.DeleteSecret(ctx, name)
		})
	case "keygen":
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
	case "rotate":
		fs := newFlags(env, "secrets rotate", "secrets rotate")
		r := remoteFlags(fs, env)
		if _, err := parse(fs, args); err != nil {
			return err
		}
		n, err := r.client().RotateSecrets(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%d secrets re-sealed with the primary key; older keys may now be dropped\n", n)
		return nil
	}
	return usagef("give a subcommand: set, list, rm, keygen or rotate")
}

func runAudit(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit", "audit [--limit N] [--output text|json]")
	limit := fs.Int("limit", 50, "at most `n` entries, newest first")
	output := fs.String("output", "text", "text or json")
	r := remoteFlags(fs, env)
	if _, err := parse(fs, args); err != nil {
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

// subcommand splits off a subcommand name.
func subcommand(args []string) (string, []string) {
	if len(args) == 0 {
		return "", nil
	}
	return args[0], args[1:]
}

// setLocalSecret seals a secret into a data dir's store directly, as the
// server would, for runs that 'baton exec' makes there.
func setLocalSecret(ctx context.Context, env *Env, dataDir, name string, value []byte) error {
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return fmt.Errorf("%w (with a server running, set secrets through it, without --local)", err)
	}
	defer lock.Close()
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "baton.db"), sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store in %s: %w", dataDir, err)
	}
	defer st.Close()
	ring, err := loadKeyring(env, localOptions{dataDir: dataDir})
	if err != nil {
		return err
	}
	if err := vault.New(st, ring).Set(ctx, name, value, time.Now()); err != nil {
		return err
	}
	return st.AuditAppend(ctx, &store.AuditEntry{Time: time.Now(), Actor: "local", Action: "secret.set", Target: name})
}
