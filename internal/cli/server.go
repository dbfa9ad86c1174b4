package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/schedule"
	"github.com/baton-dev/baton/internal/trigger/azurequeue"
)

func runServer(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "server", "server [--config FILE] [flags]")
	cfgFile := configFlag(fs)
	fs.String("listen", config.DefaultListen, "`addr` the API listens on; steps post their outputs here too (with --dev: "+config.DefaultDevListen+")")
	fs.String("data-dir", defaultDataDir(env), "`dir` holding baton's database, keys and the first admin token")
	fs.String("store", config.StoreSQLite, "where runs are kept: sqlite (a database in the data dir) or a postgres://user@host:port/db `URL` that several servers may share")
	fs.String("executor", "auto", executorUsage)
	fs.String("callback-url", "", "API base `url` as steps see it (default: derived from --listen and the executor)")
	fs.Int("max-parallel-steps", 0, "most step `attempts` running at once across all runs; 0 means no limit")
	fs.Bool("dev", false, "serve the API without tokens; only allowed on a loopback address")
	fs.String("tls-cert", "", "serve HTTPS with this certificate `file` (with --tls-key)")
	fs.String("tls-key", "", "private key `file` for --tls-cert")
	fs.String("secret-key-file", "", "`file` with the key secrets are sealed with (default: secret.key in the data dir, made at first start; env BATON_SECRET_KEY wins)")
	var oldKeys, allowImages, allowCaps listFlag
	fs.Var(&oldKeys, "old-secret-key-file", "an earlier key `file`, still used to open secrets until 'baton secrets rotate'; repeat for several")
	fs.Var(&allowImages, "allow-image", "image `pattern` steps may run, e.g. 'registry.example/team/*'; repeat for several (default: any)")
	fs.Bool("require-digest", false, "steps must pin images by digest (image@sha256:...)")
	fs.Var(&allowCaps, "allow-cap", "Linux `capability` steps may add back with cap_add; repeat for several (default: none)")
	fs.String("default-memory", "", "memory `limit` of container steps that set none, e.g. 512Mi (default: none)")
	fs.Int64("default-pids", config.DefaultPIDs, "process `limit` of container steps that set none")
	fs.String("retention", "", "delete runs, with their steps and logs, once they ended longer ago than this `duration` (e.g. 720h or 30d); checked at start and then periodically (default: keep every run)")
	fs.String("lease", "", "how long this server holds a run without renewing it, e.g. 15s; on a store several servers share, a dead server's runs move to the others about this long after it stopped (default: 15s)")
	fs.String("log-cap", "", "most `bytes` of output stored per attempt, e.g. 16Mi; past it the first part and the last lines are kept (default: 64Mi)")
	fs.String("secrets-dir", config.DefaultSecretsDir(os.Geteuid()), "tmpfs `dir` steps' secrets are written under on this machine")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, fs, *cfgFile, nil)
	if err != nil {
		return err
	}
	l, err := openLocal(ctx, env, localOptions{cfg: cfg, logLevel: slog.LevelInfo})
	if err != nil {
		return err
	}
	defer l.close()
	sched := schedule.New(l.eng, l.st, l.log)
	queues, err := azurequeue.New(azurequeue.Config{Engine: l.eng, Store: l.st, Logger: l.log, Settings: azurequeue.Settings{
		MaxDequeue: cfg.AzureQueueMaxDequeue, DevConnectionString: cfg.AzureQueueDevConnectionString,
	}})
	if err != nil {
		return err
	}
	l.api.AfterApply = func(ctx context.Context) {
		if err := sched.Reload(context.WithoutCancel(ctx)); err != nil {
			l.log.Error("reload schedules", "err", err)
		}
		if err := queues.Reload(context.WithoutCancel(ctx)); err != nil {
			l.log.Error("reload queue triggers", "err", err)
		}
	}
	// A stop asked for while starting (SIGTERM, or the test's cancel)
	// ends the server cleanly, not with the error of the step it cut.
	if err := l.eng.Recover(ctx); err != nil {
		return stoppedOr(ctx, err)
	}
	if err := sched.Reload(ctx); err != nil {
		return stoppedOr(ctx, err)
	}
	defer sched.Stop()
	defer startDeliverer(ctx, l)()
	if err := queues.Reload(ctx); err != nil {
		return stoppedOr(ctx, err)
	}
	defer queues.Stop()
	if cfg.Retention > 0 {
		pctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); pruneEvery(pctx, l.st, cfg.Retention, l.log) }()
		// Before the store closes.
		defer func() { stop(); <-done }()
	}
	mode := "tokens required"
	if cfg.Dev {
		mode = "DEV MODE: no tokens, loopback only"
	}
	l.log.Info("baton server listening", "addr", l.ln.Addr().String(), "executors", l.execs.Names(), "default_executor", l.eng.DefaultExecutor(), "data_dir", cfg.DataDir)
	fmt.Fprintf(env.Stderr, "baton server listening on %s (%s, data in %s, %s)\n", l.ln.Addr(), l.executorSummary(), cfg.DataDir, mode)
	for _, ln := range l.cbLns {
		fmt.Fprintf(env.Stderr, "step callbacks also on %s, where containers reach the host\n", ln.Addr())
	}
	<-ctx.Done()
	l.log.Info("shutting down; running steps keep running and are picked up at the next start")
	return nil
}

// stoppedOr is nil when ctx was cancelled, the server being asked to stop,
// else err.
func stoppedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
