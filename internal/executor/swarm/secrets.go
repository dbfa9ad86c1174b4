package swarm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/baton-dev/baton/internal/executor"
)

// createSecrets makes one swarm secret per secret of the step, and one for
// its token as [executor.TokenFile], named <attempt>-<n> and labelled as
// the attempt, and returns the references that mount them under
// [executor.SecretsDir]. Swarm keeps secrets encrypted in its raft log and
// puts them on a tmpfs in the task's container, readable by every user
// there, as the docker executor does: the task may run as any user.
//
// A secret left by an earlier life of the same attempt is replaced.
func (e *Executor) createSecrets(ctx context.Context, spec *executor.Spec, name string, labels map[string]string) ([]*swarm.SecretReference, error) {
	files := maps.Clone(spec.Secrets)
	if spec.Token != "" {
		if files == nil {
			files = map[string][]byte{}
		}
		files[executor.TokenFile] = []byte(spec.Token)
	}
	var refs []*swarm.SecretReference
	for i, file := range slices.Sorted(maps.Keys(files)) {
		secretName := name + "-" + strconv.Itoa(i)
		s := swarm.SecretSpec{Annotations: swarm.Annotations{Name: secretName, Labels: labels}, Data: files[file]}
		created, err := e.cli.SecretCreate(ctx, s)
		if cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err) {
			if rerr := e.cli.SecretRemove(ctx, secretName); rerr != nil && !cerrdefs.IsNotFound(rerr) {
				return nil, fmt.Errorf("swarm: replace stale secret %s: %w", secretName, rerr)
			}
			created, err = e.cli.SecretCreate(ctx, s)
		}
		if err != nil {
			// The secret's name is the step's; its content is never quoted.
			return nil, fmt.Errorf("swarm: create secret %q of step %q: %w", file, spec.Step, err)
		}
		refs = append(refs, &swarm.SecretReference{
			SecretID:   created.ID,
			SecretName: secretName,
			File:       &swarm.SecretReferenceFileTarget{Name: file, UID: "0", GID: "0", Mode: 0o444},
		})
	}
	return refs, nil
}

// removeSecrets removes every secret of the attempt named name.
func (e *Executor) removeSecrets(ctx context.Context, name string) error {
	list, err := e.cli.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("label", labelName+"="+name))})
	if err != nil {
		return fmt.Errorf("swarm: list secrets of %s: %w", name, err)
	}
	for _, s := range list {
		if err := e.cli.SecretRemove(ctx, s.ID); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("swarm: remove secret %s: %w", s.Spec.Name, err)
		}
	}
	return nil
}
