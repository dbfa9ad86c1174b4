package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/registry"
	"github.com/baton-dev/baton/internal/imagepolicy"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/trigger/azurequeue"
	"github.com/baton-dev/baton/internal/vault"
	"github.com/baton-dev/baton/internal/webui"
)

// local is an engine on this machine: its store, an executor, and the API
// listening for callbacks and clients. Fields are set in the order they
// are opened; [local.close] releases whatever is set, in reverse.
type local struct {
	log   *slog.Logger
	lock  *os.File
	st    store.Store
	execs *registry.Set
	ln    net.Listener // the API's
	// cbLns serve the steps' callbacks alone, each on a docker bridge's
	// address: the API's own address is one containers cannot reach.
	cbLns   []net.Listener
	eng     *engine.Engine
	api     *api.Server
	servers []*http.Server
	// vault opens the store's secrets, for what signs notifications.
	vault *vault.Vault
}

// localOptions say how to build a [local].
type localOptions struct {
	cfg      *config.Config
	logLevel slog.Level
	// callbacksOnly serves the steps' callbacks and nothing else (exec).
	callbacksOnly bool
}

// defaultDataDir is where state lives when no --data-dir is given.
func defaultDataDir(env *Env) string {
	if d := env.Getenv("BATON_DATA_DIR"); d != "" {
		return d
	}
	return config.DefaultDataDir(env.Getenv)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func openLocal(ctx context.Context, env *Env, o localOptions) (_ *local, err error) {
	cfg := o.cfg
	l := &local{log: newLogger(env.Stderr, o.logLevel)}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if l.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	ring, err := loadKeyring(env, cfg)
	if err != nil {
		return nil, err
	}
	if l.st, err = openStore(ctx, cfg, l.log); err != nil {
		return nil, err
	}
	// A store that carries signals between servers is one they share.
	signals, shared := l.st.(store.Signaler)
	vlt := vault.New(l.st, ring)
	l.vault = vlt
	var def string
	if l.execs, def, err = openExecutors(ctx, cfg, l.st, l.log, env.Stderr); err != nil {
		return nil, err
	}
	if l.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w; choose another address with --listen", cfg.Listen, err)
	}
	callbacks, err := l.stepCallbackURLs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ecfg := engine.Config{
		Store: l.st, Executors: l.execs.Executors, DefaultExecutor: def, CallbackURLs: callbacks,
		Logger: l.log, MaxParallel: cfg.MaxParallelSteps, Secrets: vlt, AllowCaps: cfg.AllowCap, Sealer: ring,
		LogCap: cfg.LogCap, Shared: shared, Signals: signals, Lease: cfg.Lease,
	}
	// The server-wide default limits are the container executors' own
	// (see openExecutors): a local process cannot be bound the same way.
	policy := imagepolicy.Policy{Allow: cfg.AllowImage, RequireDigest: cfg.RequireDigest}
	if len(policy.Allow) > 0 || policy.RequireDigest {
		ecfg.ImagePolicy = policy.Check
	}
	if !o.callbacksOnly {
		// A server refuses pipelines with triggers it cannot run; exec
		// runs a file once, its triggers aside.
		ecfg.MissingTriggers = azurequeue.Missing()
	}
	if l.eng, err = engine.New(ecfg); err != nil {
		return nil, err
	}
	apiOpts := api.Options{Logger: l.log, Vault: vlt, CallbacksOnly: o.callbacksOnly}
	if !cfg.Dev && !o.callbacksOnly {
		apiOpts.Auth = auth.New(l.st)
		// Before the first request can arrive: a client that sees the
		// server answer finds a valid token in the file.
		path, err := auth.Bootstrap(ctx, l.st, cfg.DataDir, time.Now())
		if err != nil {
			return nil, err
		}
		if path != "" {
			fmt.Fprintf(env.Stderr, "first start: an admin API token is in %s (mode 0600); clients on this machine use it by default\n", path)
		}
	}
	if !o.callbacksOnly {
		ui, err := webui.New(webui.Options{Engine: l.eng, Store: l.st, Auth: apiOpts.Auth, Sealer: ring, Logger: l.log})
		if err != nil {
			return nil, err
		}
		apiOpts.UI = ui
	}
	l.api = api.New(l.eng, l.st, apiOpts)
	l.serve(l.ln, l.api, cfg)
	for _, ln := range l.cbLns {
		l.serve(ln, api.New(l.eng, l.st, api.Options{Logger: l.log, Vault: vlt, CallbacksOnly: true}), cfg)
	}
	return l, nil
}

// serve serves h on ln until [local.close].
func (l *local) serve(ln net.Listener, h http.Handler, cfg *config.Config) {
	// Deadlines, header and connection limits: slow clients cannot hold
	// the connections steps and clients need.
	srv := api.NewHTTPServer(h, l.log, api.Limits{})
	ln = api.LimitListener(ln, api.DefaultMaxConns)
	l.servers = append(l.servers, srv)
	go func() {
		var err error
		if cfg.TLSCert != "" {
			err = srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.log.Error("api server", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// loadKeyring finds the key secrets are sealed with: BATON_SECRET_KEY, else
// the key file, which is made at the first start when it is the default one.
func loadKeyring(env *Env, cfg *config.Config) (*secret.Keyring, error) {
	var primary *secret.Key
	var err error
	if text := env.Getenv("BATON_SECRET_KEY"); text != "" {
		primary, err = secret.ParseKey(text)
		if err != nil {
			return nil, fmt.Errorf("BATON_SECRET_KEY: %w", err)
		}
	} else {
		file := cfg.SecretKeyFile
		if file == "" {
			file = filepath.Join(cfg.DataDir, "secret.key")
			if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
				if err := secret.GenerateKeyFile(file); err != nil {
					return nil, err
				}
			}
		}
		if primary, err = secret.LoadKey(file); err != nil {
			return nil, err
		}
	}
	var old []*secret.Key
	for _, f := range cfg.OldSecretKeyFile {
		k, err := secret.LoadKey(f)
		if err != nil {
			return nil, err
		}
		old = append(old, k)
	}
	return secret.NewKeyring(primary, old...), nil
}

// close stops the API and the engine, leaving running steps running, and
// releases everything else that was opened, in reverse order. It takes at
// most a few seconds: open log streams are cut, not waited for.
func (l *local) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	for i := len(l.servers) - 1; i >= 0; i-- {
		if err := l.servers[i].Shutdown(sctx); err != nil {
			_ = l.servers[i].Close()
		}
	}
	scancel()
	// Listeners never served are still open; closing a served one again is
	// harmless.
	for _, ln := range append(slices.Clone(l.cbLns), l.ln) {
		if ln != nil {
			_ = ln.Close()
		}
	}
	engineDone := true
	if l.eng != nil {
		if err := l.eng.Close(ctx); err != nil {
			l.log.Warn("engine close", "err", err)
			engineDone = false // its goroutines may still use the executor
		}
	}
	if l.execs != nil && engineDone {
		l.execs.Close()
	}
	if l.st != nil {
		if err := l.st.Close(); err != nil {
			l.log.Warn("store close", "err", err)
		}
	}
	if l.lock != nil {
		l.lock.Close()
	}
}

// lockDataDir makes sure one baton at a time drives the runs of a data dir:
// two would both resume the same runs. The kernel releases the lock when the
// process ends, however it ends.
func lockDataDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another baton (server or exec) is using %s; stop it, or give this one its own --data-dir", dir)
	}
	return f, nil
}
