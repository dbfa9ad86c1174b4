package registry

import (
	"context"
	"time"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/swarm"
)

// swarmFields are a swarm entry's own fields; see [swarm.Options].
type swarmFields struct {
	// Host is a swarm manager's Docker API.
	Host string `yaml:"host"`
	// Nodes are the Docker APIs of the swarm's other nodes.
	Nodes []string `yaml:"nodes"`
	// Constraints are placement constraints every service gets.
	Constraints []string `yaml:"constraints"`
	// ScheduleTimeout bounds how long a task may wait to run.
	ScheduleTimeout config.Duration `yaml:"schedule_timeout"`
}

func newSwarm(_ context.Context, env *Env, name string, f *swarmFields) (executor.Executor, error) {
	return swarm.New(swarm.Options{
		Host: f.Host, Nodes: f.Nodes, Constraints: f.Constraints, ScheduleTimeout: time.Duration(f.ScheduleTimeout),
		Logger: env.Logger.With("executor", name), Instance: env.Instance, DefaultLimits: env.DefaultLimits,
	})
}
