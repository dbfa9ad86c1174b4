package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

func runExec(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "exec", "exec -f FILE [-p NAME=VALUE]... [--config FILE] [flags]")
	file := fs.String("f", "", "pipeline definition `file` (required)")
	params := paramFlag{}
	fs.Var(params, "p", "param as `NAME=VALUE`; repeat for several")
	cfgFile := configFlag(fs)
	fs.String("executor", "auto", executorUsage)
	fs.String("data-dir", defaultDataDir(env), "`dir` holding baton's database")
	output := outputFlag(fs)
	fs.String("listen", execListen, "`addr` of the callback API steps post outputs to (a config file's listen: is the server's, not this)")
	fs.String("callback-url", "", "callback base `url` as steps see it (default: derived from --listen and the executor)")
	quiet := fs.Bool("quiet", false, "do not show what steps print (it stays in the logs: 'baton logs --data-dir DIR RUN')")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q; give the pipeline with -f", pos[0])
	}
	if *file == "" {
		return usagef("no pipeline given; use -f FILE")
	}
	// exec serves the steps' callbacks only: the server's address and dev
	// mode in a shared config file are not its own.
	cfg, err := loadConfig(env, fs, *cfgFile, map[string][]string{"listen": {execListen}, "dev": {"false"}})
	if err != nil {
		return err
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("read pipeline: %w", err)
	}
	l, err := openLocal(ctx, env, localOptions{cfg: cfg, logLevel: slog.LevelWarn, callbacksOnly: true})
	if err != nil {
		return err
	}
	defer l.close()

	// Resume: anything a previous exec left unfinished in this data dir runs
	// to its end alongside.
	if err := l.eng.Recover(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	row, spec, err := l.eng.Apply(context.WithoutCancel(ctx), *file, data)
	if err != nil {
		return trimInvalid(err)
	}
	if err := noApprovals(spec); err != nil {
		return err
	}
	run, err := l.eng.Submit(context.WithoutCancel(ctx), &engine.SubmitParams{Pipeline: row.Name, Revision: row.Revision, Params: params})
	if err != nil {
		return trimInvalid(err)
	}
	start := time.Now()
	p := newProgress(env.Stderr, isTerminal(env.Stderr))
	fmt.Fprintf(env.Stderr, "run %s of %s (revision %d) on %s\n", run.ID, row.Name, row.Revision, run.Executor)
	var logs *storeLogs
	if !*quiet {
		logs = &storeLogs{st: l.st, after: make(map[string]int64)}
	}
	canceled := false
	for {
		changed := l.eng.Changed(run.ID)
		detail, err := api.RunDetail(context.WithoutCancel(ctx), l.eng, l.st, run.ID)
		if err != nil {
			return err
		}
		if logs != nil {
			if logs.out == nil {
				logs.out = newStepLines(env.Stderr, detail)
			}
			// Before the progress line: a step's lines come before its end.
			if err := logs.printNew(context.WithoutCancel(ctx), detail); err != nil {
				return err
			}
		}
		p.update(detail)
		if detail.Status.Terminal() {
			took := time.Since(start)
			if len(detail.Notifications) > 0 {
				// No server runs on to deliver them: try each once now.
				deliverNow(ctx, l, run.ID)
				if detail, err = api.RunDetail(context.WithoutCancel(ctx), l.eng, l.st, run.ID); err != nil {
					return err
				}
			}
			return finishExec(env, *output, detail, took, storeName(cfg))
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if !canceled {
				canceled = true
				fmt.Fprintln(env.Stderr, "interrupted: canceling the run (stopping and removing its containers)")
				_ = l.eng.Cancel(context.WithoutCancel(ctx), run.ID)
			}
			ctx = context.WithoutCancel(ctx)
		}
	}
}

// execListen is where exec listens for callbacks unless told otherwise:
// any free port.
const execListen = "0.0.0.0:0"

// trimInvalid drops the "invalid input: " prefix the engine puts on errors
// about what the user wrote.
func trimInvalid(err error) error {
	if msg, ok := strings.CutPrefix(err.Error(), engine.ErrInvalid.Error()+": "); ok {
		return errors.New(msg)
	}
	return err
}

// storeName says where the runs of cfg are kept, for a person.
func storeName(cfg *config.Config) string {
	if sqliteStore(cfg) {
		return cfg.DataDir
	}
	return "the PostgreSQL store"
}

func finishExec(env *Env, output string, run *api.Run, took time.Duration, where string) error {
	if output == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(run); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "run %s %s in %s\n", run.ID, run.Status, took.Round(time.Millisecond))
		if run.Error != "" {
			fmt.Fprintf(env.Stdout, "reason: %s\n", api.EscapeControl(run.Error))
		}
		if len(run.Variables) > 0 {
			fmt.Fprintln(env.Stdout, "variables:")
			for _, k := range slices.Sorted(maps.Keys(run.Variables)) {
				fmt.Fprintf(env.Stdout, "  %s=%s\n", k, api.EscapeControl(run.Variables[k]))
			}
		}
		printNotifications(env.Stdout, run.Notifications)
		for _, n := range run.Notifications {
			if n.Status == store.NotificationPending {
				fmt.Fprintf(env.Stdout, "undelivered notifications stay queued in %s: 'baton server' or the next 'baton exec' on it tries them again\n", where)
				break
			}
		}
	}
	if run.Status != store.RunSucceeded {
		return exitError{1}
	}
	return nil
}
