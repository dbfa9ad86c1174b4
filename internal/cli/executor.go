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

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
)

// executorNames lists what --executor accepts.
const executorNames = "auto, docker, process"

// executorUsage is the help of --executor.
const executorUsage = "where steps run: " + executorNames + "; auto is docker if its engine answers at the data dir's first start, else process, and keeps to that choice at later starts"

// executorFile, in a data dir, names the executor `--executor auto` chose at
// the dir's first start. Later starts keep to it: a data dir whose runs were
// made for containers never runs them as host processes because the engine
// happened not to answer.
const executorFile = "executor"

// pingTimeout bounds how long the Docker engine has to answer at start.
const pingTimeout = 3 * time.Second

// checkExecutorName rejects an --executor value before anything is opened.
func checkExecutorName(name string) error {
	switch strings.ToLower(name) {
	case "auto", "docker", "process", "noop", "":
		return nil
	}
	return usagef("unknown executor %q; use one of %s", name, executorNames)
}

// openExecutor builds the executor --executor names, resolving auto through
// the data dir's record, and refuses one that is not the executor the data
// dir's unfinished runs were made for. This is the one place the set of
// executors is known.
func openExecutor(ctx context.Context, name, dataDir string, st store.Store, log *slog.Logger, stderr io.Writer) (executor.Executor, error) {
	name = strings.ToLower(name)
	recorded := false
	if name == "auto" || name == "" {
		var err error
		if name, recorded, err = resolveAuto(ctx, dataDir, st, log, stderr); err != nil {
			return nil, err
		}
	}
	var exec executor.Executor
	switch name {
	case "process":
		exec = process.New(process.Options{Dir: filepath.Join(dataDir, "process"), Logger: log})
	case "noop": // for benchmarks; not listed in help
		exec = noop.New()
	case "docker":
		d, err := newDocker(dataDir, log)
		if err == nil {
			err = pingDocker(ctx, d)
			if err != nil {
				d.Close()
			}
		}
		if err != nil && recorded {
			return nil, fmt.Errorf("docker engine does not answer: %w; this data dir runs its steps in docker (recorded in %s at its first start): "+
				"start dockerd, or choose with --executor (process runs steps as local processes, without container isolation, and is refused while runs made for docker are unfinished)",
				err, filepath.Join(dataDir, executorFile))
		}
		if err != nil {
			return nil, fmt.Errorf("docker engine does not answer: %w; start dockerd, or use --executor process to run steps as local processes", err)
		}
		exec = d
	default:
		return nil, checkExecutorName(name)
	}
	if err := checkUnfinished(ctx, st, exec.Name(), dataDir); err != nil {
		closeExecutor(exec)
		return nil, err
	}
	return exec, nil
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
	if len(runs) > 0 && checkExecutorName(runs[0].Executor) == nil && runs[0].Executor != "" {
		// A data dir from before the record was kept: stay where its runs are.
		name, recorded = runs[0].Executor, true
	} else {
		name = "process"
		d, err := newDocker(dataDir, log)
		if err == nil {
			err = pingDocker(ctx, d)
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

func newDocker(dataDir string, log *slog.Logger) (*docker.Executor, error) {
	instance, err := instanceID(dataDir)
	if err != nil {
		return nil, err
	}
	return docker.New(docker.Options{Logger: log, Instance: instance})
}

func pingDocker(ctx context.Context, d *docker.Executor) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return d.Ping(ctx)
}

// closeExecutor releases what an executor holds, if it holds anything.
func closeExecutor(exec executor.Executor) {
	if c, ok := exec.(io.Closer); ok {
		_ = c.Close()
	}
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
