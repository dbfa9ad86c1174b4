package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

func runLogs(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "logs", "logs RUN [STEP] [-f] [--data-dir DIR | --server URL]")
	follow := fs.Bool("f", false, "follow: keep printing until the step (or, without STEP, every step) has ended")
	dataDir := fs.String("data-dir", "", "read the logs straight from this data `dir` instead of a server, e.g. those of 'baton exec' (works while a server or exec uses the dir)")
	server := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("give a run id and, optionally, a step name")
	}
	if flagSet(fs, "data-dir") {
		if flagSet(fs, "server") || flagSet(fs, "token") {
			return usagef("give --data-dir or --server, not both")
		}
		return localLogs(ctx, env, *dataDir, pos, *follow)
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

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *cmdFlags, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// localLogs prints a run's logs from a data dir's database, opened read-only
// so that it works beside the server or exec that holds the dir, in the
// API's text form.
func localLogs(ctx context.Context, env *Env, dataDir string, pos []string, follow bool) error {
	st, err := sqlite.OpenReadOnly(ctx, filepath.Join(dataDir, "baton.db"))
	if err != nil {
		return fmt.Errorf("no baton database in %s (give the --data-dir of the server or exec that made the run): %w", dataDir, err)
	}
	defer st.Close()
	steps, err := st.StepList(ctx, pos[0])
	if err == nil && len(steps) == 0 {
		_, err = st.RunGet(ctx, pos[0])
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no run %s in %s; list runs with 'baton runs list'", pos[0], dataDir)
	}
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		for _, s := range steps {
			if s.Name == pos[1] {
				return printStoreLogs(ctx, env.Stdout, st, pos[0], pos[1], follow)
			}
		}
		return fmt.Errorf("run %s has no step %q", pos[0], pos[1])
	}
	for _, s := range steps {
		fmt.Fprintf(env.Stdout, "==> %s <==\n", s.Name)
		if err := printStoreLogs(ctx, env.Stdout, st, pos[0], s.Name, follow); err != nil {
			return err
		}
	}
	return nil
}

// printStoreLogs prints one step's stored lines; with follow it polls for
// more until the step has ended.
func printStoreLogs(ctx context.Context, w io.Writer, st store.Store, runID, step string, follow bool) error {
	var after int64
	for {
		// The status first: once it says ended, the lines read after it
		// are all there will be.
		ended, err := stepEnded(ctx, st, runID, step)
		if err != nil {
			return err
		}
		for {
			rows, err := st.LogList(ctx, &store.LogListParams{RunID: runID, Step: step, AfterSeq: after, Limit: 1000})
			if err != nil {
				return err
			}
			for _, l := range rows {
				fmt.Fprintf(w, "%s %s %s\n", l.Time.Format(time.RFC3339Nano), l.Stream, api.EscapeControl(l.Text))
				after = l.Seq
			}
			if len(rows) < 1000 {
				break
			}
		}
		if !follow || ended {
			return nil
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
	}
}

func stepEnded(ctx context.Context, st store.Store, runID, step string) (bool, error) {
	steps, err := st.StepList(ctx, runID)
	if err != nil {
		return false, err
	}
	for _, s := range steps {
		if s.Name == step {
			return s.Status.Terminal(), nil
		}
	}
	return false, fmt.Errorf("run %s has no step %q", runID, step)
}
