package docker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"

	"github.com/baton-dev/baton/internal/executor"
)

// Owned is a container baton created, as [Executor.List] finds it.
type Owned struct {
	ID      string
	Name    string
	RunID   string
	Step    string
	Attempt int
	// State is the engine's word for it: "created", "running", "exited"…
	State string
}

// swarmTaskLabel marks the containers the engine runs for swarm services.
const swarmTaskLabel = "com.docker.swarm.task.id"

// Handle returns the handle that names o, for [Executor.Remove] and the rest.
func (o Owned) Handle() *executor.Handle {
	return &executor.Handle{Executor: "docker", ID: o.ID}
}

// List returns every container labelled [executor.LabelManaged], running or
// not, so that what nobody owns any more can be found and removed.
func (e *Executor) List(ctx context.Context) ([]Owned, error) {
	owned, _, err := e.list(ctx)
	return owned, err
}

// list is [Executor.List], with the host directories the containers mount
// at /baton.
func (e *Executor) list(ctx context.Context) ([]Owned, map[string]bool, error) {
	cs, err := e.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: e.ownedFilter(),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("docker: list containers: %w", err)
	}
	owned := make([]Owned, 0, len(cs))
	mounted := make(map[string]bool)
	for _, c := range cs {
		for _, m := range c.Mounts {
			if m.Destination == path.Dir(OutputPath) && m.Type == mount.TypeBind {
				mounted[filepath.Clean(m.Source)] = true
			}
		}
		if _, task := c.Labels[swarmTaskLabel]; task {
			// A swarm executor's task on the same engine: the swarm
			// executor owns it and removes it with its service.
			continue
		}
		o := Owned{
			ID:    c.ID,
			RunID: c.Labels[executor.LabelRun],
			Step:  c.Labels[executor.LabelStep],
			State: string(c.State),
		}
		if len(c.Names) > 0 {
			o.Name = strings.TrimPrefix(c.Names[0], "/")
		}
		if o.Attempt, err = strconv.Atoi(c.Labels[executor.LabelAttempt]); err != nil {
			e.logger.Warn("docker: bad attempt label", "container", c.ID,
				"attempt", c.Labels[executor.LabelAttempt])
		}
		owned = append(owned, o)
	}
	return owned, mounted, nil
}

// outputDirs lists the attempts' directories under [Options.OutputDir].
func (e *Executor) outputDirs() []string {
	if e.outputDir == "" {
		return nil
	}
	entries, err := os.ReadDir(e.outputDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			e.logger.Warn("docker: list output directories", "dir", e.outputDir, "err", err)
		}
		return nil
	}
	var dirs []string
	for _, d := range entries {
		if d.IsDir() && strings.HasPrefix(d.Name(), outputDirPrefix) {
			dirs = append(dirs, filepath.Join(e.outputDir, d.Name()))
		}
	}
	return dirs
}

// ListOwned implements [executor.Lister]. On the way it removes the
// output directories under [Options.OutputDir] that no container mounts and
// no Start in this process is making: what a crash between mounting one and
// creating its container left behind.
func (e *Executor) ListOwned(ctx context.Context) ([]executor.Owned, error) {
	// In this order: a directory read here whose Start is over by the
	// snapshot has its container by then, so the list that follows holds it.
	dirs := e.outputDirs()
	busy := starting.snapshot()
	list, mounted, err := e.list(ctx)
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		if busy[dir] || mounted[dir] {
			continue
		}
		if err := e.removeAttemptDirs(dir); err != nil {
			e.logger.Warn("docker: remove leftover output directory", "dir", dir, "err", err)
		}
	}
	owned := make([]executor.Owned, len(list))
	for i, o := range list {
		owned[i] = executor.Owned{Handle: o.Handle(), RunID: o.RunID, Step: o.Step, Attempt: o.Attempt}
	}
	return owned, nil
}

var _ executor.Lister = (*Executor)(nil)

// ownedFilter selects baton's containers, and only this installation's when
// it has an instance name.
func (e *Executor) ownedFilter() filters.Args {
	f := filters.NewArgs(filters.Arg("label", executor.LabelManaged+"=true"))
	if e.instance != "" {
		f.Add("label", executor.LabelInstance+"="+e.instance)
	}
	return f
}
