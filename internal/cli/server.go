package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/baton-dev/baton/internal/schedule"
)

func runServer(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "server", "server [flags]")
	listen := fs.String("listen", ":8080", "`addr` the API listens on; steps post their outputs here too")
	dataDir := fs.String("data-dir", defaultDataDir(env), "`dir` holding baton's database")
	execName := fs.String("executor", "auto", "where steps run: "+executorNames)
	callback := fs.String("callback-url", "", "API base `url` as steps see it (default: derived from --listen and the executor)")
	maxParallel := fs.Int("max-parallel-steps", 0, "most step `attempts` running at once across all runs; 0 means no limit")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := checkExecutorName(*execName); err != nil {
		return err
	}
	if *maxParallel < 0 {
		return usagef("--max-parallel-steps %d must be 0 (no limit) or more", *maxParallel)
	}
	l, err := openLocal(ctx, env, localOptions{
		dataDir: *dataDir, executor: *execName, listen: *listen, callbackURL: *callback, logLevel: slog.LevelInfo, maxParallel: *maxParallel,
	})
	if err != nil {
		return err
	}
	defer l.close()
	sched := schedule.New(l.eng, l.st, l.log)
	l.api.AfterApply = func(ctx context.Context) {
		if err := sched.Reload(context.WithoutCancel(ctx)); err != nil {
			l.log.Error("reload schedules", "err", err)
		}
	}
	if err := sched.Reload(ctx); err != nil {
		return err
	}
	defer sched.Stop()
	if err := l.eng.Recover(ctx); err != nil {
		return err
	}
	l.log.Info("baton server listening", "addr", l.ln.Addr().String(), "executor", l.exec.Name(), "data_dir", *dataDir)
	fmt.Fprintf(env.Stderr, "baton server listening on %s (executor %s, data in %s)\n", l.ln.Addr(), l.exec.Name(), *dataDir)
	<-ctx.Done()
	l.log.Info("shutting down; running steps keep running and are picked up at the next start")
	return nil
}
