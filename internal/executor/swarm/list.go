package swarm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"

	"github.com/baton-dev/baton/internal/executor"
)

// ListOwned implements [executor.Lister]. It finds every attempt of baton's
// (of this installation's, with [Options.Instance]) by its labels: its
// service, and what outlives a Start that failed half way or a Remove cut
// short: secrets, and output volumes and containers on the nodes whose
// engines answer. A node whose engine does not answer is logged and left
// out.
func (e *Executor) ListOwned(ctx context.Context) ([]executor.Owned, error) {
	f := e.ownedFilter()
	byName := map[string]map[string]string{}
	add := func(labels map[string]string) {
		if name := labels[labelName]; name != "" && byName[name] == nil {
			byName[name] = labels
		}
	}
	services, err := e.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("swarm: list services: %w", err)
	}
	for _, s := range services {
		add(s.Spec.Labels)
	}
	secrets, err := e.cli.SecretList(ctx, swarm.SecretListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("swarm: list secrets: %w", err)
	}
	for _, s := range secrets {
		add(s.Spec.Labels)
	}
	for id, cli := range e.nodes.all(ctx) {
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			e.logger.Warn("swarm: list containers on a node", "node", id, "err", err)
			continue
		}
		for _, c := range cs {
			add(c.Labels)
		}
		vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		if err != nil {
			e.logger.Warn("swarm: list volumes on a node", "node", id, "err", err)
			continue
		}
		for _, v := range vols.Volumes {
			add(v.Labels)
		}
	}
	owned := make([]executor.Owned, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		l := byName[name]
		o := executor.Owned{
			Handle: &executor.Handle{Executor: e.Name(), ID: name},
			RunID:  l[executor.LabelRun],
			Step:   l[executor.LabelStep],
		}
		if o.Attempt, err = strconv.Atoi(l[executor.LabelAttempt]); err != nil {
			e.logger.Warn("swarm: bad attempt label", "service", name, "attempt", l[executor.LabelAttempt])
		}
		owned = append(owned, o)
	}
	return owned, nil
}

// ownedFilter selects baton's objects, and only this installation's when
// it has an instance name.
func (e *Executor) ownedFilter() filters.Args {
	f := filters.NewArgs(filters.Arg("label", executor.LabelManaged+"=true"))
	if e.instance != "" {
		f.Add("label", executor.LabelInstance+"="+e.instance)
	}
	return f
}
