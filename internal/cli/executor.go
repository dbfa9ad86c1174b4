package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/registry"
	"github.com/baton-dev/baton/internal/store"
)

// executorNames lists what --executor accepts without a config file.
const executorNames = "auto, docker, process"

// executorUsage is the help of --executor.
const executorUsage = "where steps run: with a config file, one of the executors it names (default: its default_executor); without, " + executorNames + "; auto is docker if its engine answers at the data dir's first start, else process, and keeps to that choice at later starts"

// executorFile, in a data dir, names the executor `--executor auto` chose at
// the dir's first start. Later starts keep to it: a data dir whose runs were
// made for containers never runs them as host processes because the engine
// happened not to answer.
const executorFile = "executor"

// pingTimeout bounds how long an executor's engine has to answer at start.
const pingTimeout = 3 * time.Second

// pinger is an executor that can say whether its engine answers.
type pinger interface {
	Ping(ctx context.Context) error
}

// openExecutors builds the executors steps run on, through the registry,
// and returns them with the default's name. With a config file naming
// executors, they are those; without, the one --executor names, under its
// type's name (docker or process, as handles and runs have always said),
// auto resolved through the data dir's record, and refused when it is not
// the executor the data dir's unfinished runs were made for.
func openExecutors(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger, stderr io.Writer) (*registry.Set, string, error) {
	instance, err := instanceID(cfg.DataDir)
	if err != nil {
		return nil, "", err
	}
	if id, ok := st.(interface{ Identity() string }); ok && id.Identity() != "" {
		// Servers sharing a store are one installation: each must find,
		// re-attach to and remove what the others' attempts left.
		instance = id.Identity()[:min(16, len(id.Identity()))]
	}
	env := &registry.Env{
		DataDir: cfg.DataDir, Instance: instance, SecretsDir: cfg.SecretsDir, Logger: log,
		DefaultLimits: executor.Limits{MemoryBytes: cfg.DefaultMemory, PIDs: cfg.DefaultPIDs},
	}
	if len(cfg.Executors) > 0 {
		set, err := openConfigured(ctx, cfg, st, env, log)
		return set, cfg.DefaultExecutor, err
	}
	name, recorded := cfg.DefaultExecutor, false
	if name == config.ExecutorAuto {
		if name, recorded, err = resolveAuto(ctx, cfg.DataDir, st, log, stderr); err != nil {
			return nil, "", err
		}
	}
	set, err := registry.New().Build(ctx, map[string]*config.Executor{name: config.NewExecutor(name, name)}, env)
	if err != nil {
		return nil, "", err
	}
	if p, ok := set.Executors[name].(pinger); ok && name == config.ExecutorDocker {
		if err := ping(ctx, p); err != nil {
			set.Close()
			if recorded {
				return nil, "", fmt.Errorf("docker engine does not answer: %w; this data dir runs its steps in docker (recorded in %s at its first start): "+
					"start dockerd, or choose with --executor (process runs steps as local processes, without container isolation, and is refused while runs made for docker are unfinished)",
					err, filepath.Join(cfg.DataDir, executorFile))
			}
			return nil, "", fmt.Errorf("docker engine does not answer: %w; start dockerd, or use --executor process to run steps as local processes", err)
		}
	}
	// On a store several servers share, another server may have the
	// executor those runs need; this one leaves them to it (see engine).
	if _, shared := st.(store.Signaler); !shared {
		if err := checkUnfinished(ctx, st, name, cfg.DataDir); err != nil {
			set.Close()
			return nil, "", err
		}
	}
	return set, name, nil
}

// openConfigured builds the executors a config file names and checks that
// each one's engine answers. Unfinished runs made for an executor the file
// does not name are not refused: the engine leaves them waiting, saying
// why, and they may be canceled.
func openConfigured(ctx context.Context, cfg *config.Config, st store.Store, env *registry.Env, log *slog.Logger) (*registry.Set, error) {
	set, err := registry.New().Build(ctx, cfg.Executors, env)
	if err != nil {
		return nil, err
	}
	for _, name := range set.Names() {
		p, ok := set.Executors[name].(pinger)
		if !ok {
			continue
		}
		wait := pingTimeout
		if t := set.Types[name]; t != config.ExecutorDocker && t != config.ExecutorProcess {
			wait = remotePingTimeout
		}
		if err := pingWithin(ctx, p, wait); err != nil {
			set.Close()
			return nil, fmt.Errorf("executor %q (type %s, %s) does not answer: %w; start it, fix its entry, or remove it from the config file",
				name, set.Types[name], cfg.Executors[name].Where(), err)
		}
	}
	runs, err := st.RunList(ctx, &store.RunListParams{Statuses: []store.RunStatus{store.RunQueued, store.RunRunning}})
	if err != nil {
		set.Close()
		return nil, fmt.Errorf("open store in %s: %w", cfg.DataDir, err)
	}
	for _, r := range runs {
		if _, ok := set.Executors[r.Executor]; !ok {
			log.Warn("an unfinished run waits for an executor the config file does not name", "run_id", r.ID, "executor", r.Executor, "executors", set.Names())
		}
	}
	return set, nil
}

func ping(ctx context.Context, p pinger) error { return pingWithin(ctx, p, pingTimeout) }

// remotePingTimeout bounds the first answer of a remote engine: a cluster's
// API, or Azure's, with a first token from a managed identity on a cold
// machine, may take well over a local engine's few seconds.
const remotePingTimeout = 30 * time.Second

func pingWithin(ctx context.Context, p pinger, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return p.Ping(ctx)
}

// executorSummary says where steps run, for the start-up line.
func (l *local) executorSummary() string {
	names := l.execs.Names()
	if len(names) == 1 {
		return "executor " + names[0]
	}
	return fmt.Sprintf("executors %s, default %s", strings.Join(names, ", "), l.eng.DefaultExecutor())
}

// resolveAuto returns the executor auto means for a data dir: the one
// recorded there, else (first start) the executor of its newest run, else
// docker if the engine answers and process if not, which it then records.
// recorded reports whether the name came from an earlier start.
func resolveAuto(ctx context.Context, dataDir string, st store.Store, log *slog.Logger, stderr io.Writer) (name string, recorded bool, err error) {
	path := filepath.Join(dataDir, executorFile)
	name, err = readExecutorFile(path)
	if err != nil || name != "" {
		return name, name != "", err
	}
	runs, err := st.RunList(ctx, &store.RunListParams{Limit: 1})
	if err != nil {
		return "", false, fmt.Errorf("open store in %s: %w", dataDir, err)
	}
	if len(runs) > 0 && (runs[0].Executor == config.ExecutorDocker || runs[0].Executor == config.ExecutorProcess) {
		// A data dir from before the record was kept: stay where its runs are.
		name, recorded = runs[0].Executor, true
	} else {
		name = "process"
		d, err := docker.New(docker.Options{Logger: log})
		if err == nil {
			err = ping(ctx, d)
			d.Close()
		}
		if err == nil {
			name = "docker"
		} else {
			fmt.Fprintf(stderr, "baton: docker engine does not answer (%v); --executor auto chose process for %s: steps run as local processes, now and at later starts (use --executor docker to choose otherwise)\n", err, dataDir)
		}
	}
	if err := writeExecutorFile(path, name); err != nil {
		return "", false, err
	}
	return name, recorded, nil
}

// readExecutorFile returns the executor recorded at path, "" if none is.
func readExecutorFile(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("data dir: read the executor chosen at its first start: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return "", fmt.Errorf("data dir: read the executor chosen at its first start: %w", err)
	}
	name := strings.TrimSpace(string(b))
	switch name {
	case "docker", "process", "noop":
		return name, nil
	}
	return "", fmt.Errorf("data dir: %s does not name an executor; write docker or process into it, or remove it to let --executor auto choose again", path)
}

// writeExecutorFile records name at path, replacing it whole or not at all.
func writeExecutorFile(path, name string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o600); err != nil {
		return fmt.Errorf("data dir: record the executor: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("data dir: record the executor: %w", err)
	}
	return nil
}

// checkUnfinished refuses an executor other than the one the data dir's
// unfinished runs were made for: the engine runs a run only on its own.
func checkUnfinished(ctx context.Context, st store.Store, name, dataDir string) error {
	runs, err := st.RunList(ctx, &store.RunListParams{Statuses: []store.RunStatus{store.RunQueued, store.RunRunning}})
	if err != nil {
		return fmt.Errorf("open store in %s: %w", dataDir, err)
	}
	var other []*store.RunRow
	for _, r := range runs {
		if r.Executor != "" && r.Executor != name {
			other = append(other, r)
		}
	}
	if len(other) == 0 {
		return nil
	}
	return fmt.Errorf("%d unfinished run(s) in %s (run %s first) were made for the %s executor, and a run only ever runs on its own; "+
		"start with --executor %s to finish them, or use another --data-dir for the %s executor",
		len(other), dataDir, other[0].ID, other[0].Executor, other[0].Executor, name)
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
