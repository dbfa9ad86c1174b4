package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/imagepolicy"
	"github.com/baton-dev/baton/internal/schedule"
)

func runServer(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "server", "server [flags]")
	listen := fs.String("listen", ":8080", "`addr` the API listens on; steps post their outputs here too")
	dataDir := fs.String("data-dir", defaultDataDir(env), "`dir` holding baton's database, keys and the first admin token")
	execName := fs.String("executor", "auto", executorUsage)
	callback := fs.String("callback-url", "", "API base `url` as steps see it (default: derived from --listen and the executor)")
	maxParallel := fs.Int("max-parallel-steps", 0, "most step `attempts` running at once across all runs; 0 means no limit")
	dev := fs.Bool("dev", false, "serve the API without tokens; only allowed on a loopback address")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate `file` (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "private key `file` for --tls-cert")
	keyFile := fs.String("secret-key-file", "", "`file` with the key secrets are sealed with (default: secret.key in the data dir, made at first start; env BATON_SECRET_KEY wins)")
	var oldKeys, allowImages, allowCaps listFlag
	fs.Var(&oldKeys, "old-secret-key-file", "an earlier key `file`, still used to open secrets until 'baton secrets rotate'; repeat for several")
	fs.Var(&allowImages, "allow-image", "image `pattern` steps may run, e.g. 'registry.example/team/*'; repeat for several (default: any)")
	requireDigest := fs.Bool("require-digest", false, "steps must pin images by digest (image@sha256:...)")
	fs.Var(&allowCaps, "allow-cap", "Linux `capability` steps may add back with cap_add; repeat for several (default: none)")
	defMemory := fs.String("default-memory", "", "memory `limit` of steps that set none, e.g. 512Mi (default: none)")
	defPIDs := fs.Int64("default-pids", 512, "process `limit` of steps that set none")
	retentionFlag := fs.String("retention", "", "delete runs, with their steps and logs, once they ended longer ago than this `duration` (e.g. 720h or 30d); checked at start and then periodically (default: keep every run)")
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
	var retention time.Duration
	if *retentionFlag != "" {
		if retention, err = parseAge(*retentionFlag); err != nil {
			return usagef("--retention: %v", err)
		}
	}
	if *maxParallel < 0 {
		return usagef("--max-parallel-steps %d must be 0 (no limit) or more", *maxParallel)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usagef("give --tls-cert and --tls-key together")
	}
	if *dev {
		if *listen == ":8080" {
			*listen = "127.0.0.1:8080"
		}
		if !loopback(*listen) {
			return usagef("--dev serves the API without tokens, so it listens only on loopback; use --listen 127.0.0.1:PORT")
		}
	}
	limits := executor.Limits{PIDs: *defPIDs}
	if *defMemory != "" {
		if limits.MemoryBytes, err = parseBytes(*defMemory); err != nil {
			return usagef("--default-memory: %v", err)
		}
	}
	policy := imagepolicy.Policy{Allow: allowImages, RequireDigest: *requireDigest}
	if err := policy.Validate(); err != nil {
		return usagef("--allow-image: %v", err)
	}
	l, err := openLocal(ctx, env, localOptions{
		dataDir: *dataDir, executor: *execName, listen: *listen, callbackURL: *callback, logLevel: slog.LevelInfo,
		maxParallel: *maxParallel, dev: *dev, tlsCert: *tlsCert, tlsKey: *tlsKey,
		secretKeyFile: *keyFile, oldSecretKeys: oldKeys, imagePolicy: policy,
		allowCaps: normalizeCaps(allowCaps), defaultLimits: limits,
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
	if err := l.eng.Recover(ctx); err != nil {
		return err
	}
	if err := sched.Reload(ctx); err != nil {
		return err
	}
	defer sched.Stop()
	if retention > 0 {
		pctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); pruneEvery(pctx, l.st, retention, l.log) }()
		// Before the store closes.
		defer func() { stop(); <-done }()
	}
	mode := "tokens required"
	if *dev {
		mode = "DEV MODE: no tokens, loopback only"
	}
	l.log.Info("baton server listening", "addr", l.ln.Addr().String(), "executor", l.exec.Name(), "data_dir", *dataDir)
	fmt.Fprintf(env.Stderr, "baton server listening on %s (executor %s, data in %s, %s)\n", l.ln.Addr(), l.exec.Name(), *dataDir, mode)
	if l.cbLn != nil {
		fmt.Fprintf(env.Stderr, "step callbacks also on %s, where containers reach the host\n", l.cbLn.Addr())
	}
	<-ctx.Done()
	l.log.Info("shutting down; running steps keep running and are picked up at the next start")
	return nil
}

// loopback reports whether addr's host is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func normalizeCaps(caps []string) []string {
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = strings.TrimPrefix(strings.ToUpper(c), "CAP_")
	}
	return out
}

// parseBytes reads a size such as 512Mi, 1G or 1048576.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1000}, {"K", 1000}, {"M", 1000 * 1000}, {"G", 1000 * 1000 * 1000}}
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			mult, num = u.mult, strings.TrimSuffix(s, u.suffix)
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(num, &n); err != nil || n <= 0 || fmt.Sprint(n) != num {
		return 0, fmt.Errorf("%q is not a size; write e.g. 512Mi or 2Gi", s)
	}
	return n * mult, nil
}
