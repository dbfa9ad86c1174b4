package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/imagepolicy"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/vault"
)

// local is an engine on this machine: the SQLite store, an executor, and the
// API listening for callbacks and clients.
type local struct {
	log  *slog.Logger
	st   *sqlite.Store
	exec executor.Executor
	eng  *engine.Engine
	api  *api.Server
	ln   net.Listener
	srv  *http.Server
	lock *os.File
}

// localOptions say how to build a [local].
type localOptions struct {
	dataDir     string
	executor    string
	listen      string
	callbackURL string
	logLevel    slog.Level
	maxParallel int
	// callbacksOnly serves the steps' callbacks and nothing else (exec).
	callbacksOnly bool
	// dev serves the API without tokens; only on loopback.
	dev             bool
	tlsCert, tlsKey string
	secretKeyFile   string
	oldSecretKeys   []string
	imagePolicy     imagepolicy.Policy
	allowCaps       []string
	defaultLimits   executor.Limits
}

// defaultDataDir is where state lives when no --data-dir is given.
func defaultDataDir(env *Env) string {
	if d := env.Getenv("BATON_DATA_DIR"); d != "" {
		return d
	}
	if d := env.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "baton")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "baton")
	}
	return ".baton"
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func openLocal(ctx context.Context, env *Env, o localOptions) (l *local, err error) {
	l = &local{log: newLogger(env.Stderr, o.logLevel)}
	l.lock, err = lockDataDir(o.dataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			l.lock.Close()
		}
	}()
	exec, err := newExecutor(ctx, o.executor, o.dataDir, l.log, env.Stderr)
	if err != nil {
		return nil, err
	}
	l.exec = exec
	l.st, err = sqlite.Open(ctx, filepath.Join(o.dataDir, "baton.db"), sqlite.Options{Logger: l.log})
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", o.dataDir, err)
	}
	ring, err := loadKeyring(env, o)
	if err != nil {
		l.st.Close()
		return nil, err
	}
	vlt := vault.New(l.st, ring)
	l.ln, err = net.Listen("tcp", o.listen)
	if err != nil {
		l.st.Close()
		return nil, fmt.Errorf("listen on %s: %w; choose another address with --listen", o.listen, err)
	}
	cb := o.callbackURL
	if cb == "" {
		cb = defaultCallbackURL(exec.Name(), l.ln.Addr(), o.tlsCert != "")
	}
	cfg := engine.Config{
		Store: l.st, Executor: exec, CallbackURL: cb, Logger: l.log, MaxParallel: o.maxParallel,
		Secrets: vlt, AllowCaps: o.allowCaps,
	}
	if exec.Name() == "docker" {
		// Server-wide defaults bound containers; a local process cannot be
		// bound the same way, so they do not apply to it.
		cfg.DefaultLimits = o.defaultLimits
	}
	if len(o.imagePolicy.Allow) > 0 || o.imagePolicy.RequireDigest {
		cfg.ImagePolicy = o.imagePolicy.Check
	}
	l.eng, err = engine.New(cfg)
	if err != nil {
		l.ln.Close()
		l.st.Close()
		return nil, err
	}
	apiOpts := api.Options{Logger: l.log, Vault: vlt, CallbacksOnly: o.callbacksOnly}
	if !o.dev && !o.callbacksOnly {
		apiOpts.Auth = auth.New(l.st)
		// Before the first request can arrive: a client that sees the
		// server answer finds a valid token in the file.
		path, err := auth.Bootstrap(ctx, l.st, o.dataDir, time.Now())
		if err != nil {
			l.ln.Close()
			l.st.Close()
			return nil, err
		}
		if path != "" {
			fmt.Fprintf(env.Stderr, "first start: an admin API token is in %s (mode 0600); clients on this machine use it by default\n", path)
		}
	}
	l.api = api.New(l.eng, l.st, apiOpts)
	l.srv = &http.Server{
		Handler: l.api, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(l.log.Handler(), slog.LevelWarn),
	}
	go func() {
		var err error
		if o.tlsCert != "" {
			err = l.srv.ServeTLS(l.ln, o.tlsCert, o.tlsKey)
		} else {
			err = l.srv.Serve(l.ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.log.Error("api server", "err", err)
		}
	}()
	return l, nil
}

// loadKeyring finds the key secrets are sealed with: BATON_SECRET_KEY, else
// the key file, which is made at the first start when it is the default one.
func loadKeyring(env *Env, o localOptions) (*secret.Keyring, error) {
	var primary *secret.Key
	var err error
	if text := env.Getenv("BATON_SECRET_KEY"); text != "" {
		primary, err = secret.ParseKey(text)
		if err != nil {
			return nil, fmt.Errorf("BATON_SECRET_KEY: %w", err)
		}
	} else {
		file := o.secretKeyFile
		if file == "" {
			file = filepath.Join(o.dataDir, "secret.key")
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
	for _, f := range o.oldSecretKeys {
		k, err := secret.LoadKey(f)
		if err != nil {
			return nil, err
		}
		old = append(old, k)
	}
	return secret.NewKeyring(primary, old...), nil
}

// defaultCallbackURL is the API's address as a step sees it: containers reach
// the host through host.docker.internal, processes through loopback.
func defaultCallbackURL(executorName string, addr net.Addr, tls bool) string {
	port := strconv.Itoa(addr.(*net.TCPAddr).Port)
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	if executorName == "docker" {
		return scheme + "host.docker.internal:" + port
	}
	return scheme + "127.0.0.1:" + port
}

// close stops the API and the engine, leaving running steps running. It
// takes at most a few seconds: open log streams are cut, not waited for.
func (l *local) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	if err := l.srv.Shutdown(sctx); err != nil {
		_ = l.srv.Close()
	}
	scancel()
	if err := l.eng.Close(ctx); err != nil {
		l.log.Warn("engine close", "err", err)
	}
	if err := l.st.Close(); err != nil {
		l.log.Warn("store close", "err", err)
	}
	l.lock.Close()
}

// executorNames lists what --executor accepts.
const executorNames = "auto, docker, process"

// dockerOutputDir is where output files of containers are made, bind-mounted
// into them; empty (copy in and out instead) when the engine is on another
// machine and cannot see this one's files.
func dockerOutputDir(dataDir string) string {
	if host := os.Getenv("DOCKER_HOST"); host != "" && !strings.HasPrefix(host, "unix://") {
		return ""
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, "outputs"))
	if err != nil {
		return ""
	}
	return dir
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

// instanceID names this installation, so that its containers are told from
// those of another baton on the same engine. It is made once per data dir.
func instanceID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "instance")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	return id, nil
}

// checkExecutorName rejects an --executor value before anything is opened.
func checkExecutorName(name string) error {
	switch strings.ToLower(name) {
	case "auto", "docker", "process", "noop", "":
		return nil
	}
	return usagef("unknown executor %q; use one of %s", name, executorNames)
}

// newExecutor builds the executor named by --executor. This is the one place
// the set of executors is known.
func newExecutor(ctx context.Context, name, dataDir string, log *slog.Logger, stderr io.Writer) (executor.Executor, error) {
	proc := func() executor.Executor {
		return process.New(process.Options{Dir: filepath.Join(dataDir, "process"), Logger: log})
	}
	switch strings.ToLower(name) {
	case "process":
		return proc(), nil
	case "noop": // for benchmarks; not listed in help
		return noop.New(), nil
	case "docker", "auto", "":
		instance, err := instanceID(dataDir)
		if err != nil {
			return nil, err
		}
		d, err := docker.New(docker.Options{Logger: log, OutputDir: dockerOutputDir(dataDir), Instance: instance})
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err = d.Ping(pctx)
			cancel()
		}
		if err == nil {
			return d, nil
		}
		if name == "docker" {
			return nil, fmt.Errorf("docker engine does not answer: %w; start dockerd or use --executor process", err)
		}
		fmt.Fprintf(stderr, "baton: docker engine does not answer (%v); running steps as local processes\n", err)
		return proc(), nil
	default:
		return nil, checkExecutorName(name)
	}
}
