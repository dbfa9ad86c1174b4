package swarm

import (
	"context"

	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor/docker"
)

// readOutput copies the output file out of a task's container through its
// node's engine; see [docker.CopyOutput].
func readOutput(ctx context.Context, cli *client.Client, cid string) (out []byte, refused, err error) {
	return docker.CopyOutput(ctx, cli, cid)
}
