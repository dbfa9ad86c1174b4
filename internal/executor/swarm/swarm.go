// Package swarm runs each step attempt as a Docker Swarm service with one
// task, through the Docker Engine's official Go SDK, so that the swarm's
// scheduler spreads a pipeline's steps over its nodes.
//
// # Mode
//
// Each attempt is a replicated service with one replica and restart
// condition none, not a replicated job. Measured on Docker 20.10.24 (API
// 1.41), three nodes: a replicated-job service leaves its task's exited
// container behind on the node after the service is removed, whether the
// task exited 0 or 3 and whatever its restart policy (moby#42789), and,
// with the default restart policy, reruns a failed job on other nodes;
// a replicated service with restart condition none ran its task once and
// left no container once removed. Only the latter is used.
//
// # Outputs
//
// Swarm cannot copy a file into a task's container before it starts nor
// out of it after it exits; only the node's own engine can. So the
// executor is given the Docker API of the swarm's nodes ([Options.Nodes])
// and:
//
//   - before each attempt, on every node it can use that
//     [Options.Constraints] let the task run on, it creates the attempt's
//     named volume holding an empty /baton/output that any user may write,
//     by creating (never starting) a container of a tiny image it imports
//     itself ([OutputImage]): the engine copies the image's /baton into
//     the fresh volume;
//   - the service mounts that volume at /baton, and is constrained away
//     from every node on which the volume could not be made, so the task
//     only runs where the file exists;
//   - after exit, the file is copied out of the task's container through
//     the engine of the node that ran it, exactly as the docker executor
//     does: a link, a directory, a pipe or a device is refused, and at most
//     one byte over the contract's limit is read.
//
// A task that nevertheless lands on a node the executor cannot read from
// (one that joined the swarm after the attempt started) fails the attempt
// with an error saying so: outputs are never lost silently. With no node
// engines given besides the manager's, every attempt runs on the manager.
//
// # Hardening
//
// What API 1.41 lets a service say is set: all capabilities dropped and
// only [executor.Spec.CapAdd] added back, a process limit, memory and CPU
// limits, the step's user, a read-only root when asked, no host namespace
// and no privileged mode (swarm has neither), a bounded json-file log.
// No-new-privileges is requested too but only engines of API 1.44 and
// later apply it; 20.10 ignores it. See docs/executors.md.
//
// # Waiting
//
// The Engine API has no events for tasks (its service events report spec
// changes, not task states), but the engine of the node a task is
// assigned to reports its container's start and death as they happen,
// some 100 ms before the manager hears of them. So Start, Wait and
// FollowLogs follow those events from the task's node and read the
// container there at once, and poll the manager, backing off from 50 ms
// to a second, for what no container event shows: a task not yet placed,
// one its node rejects, a node that goes away.
package swarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor"
)

// OutputPath is where the output file lives inside every task.
const OutputPath = "/baton/output"

// DefaultPIDs is the process limit of a task when neither the step nor
// [Options.DefaultLimits] sets one, as with the docker executor.
const DefaultPIDs = 512

// DefaultScheduleTimeout is how long a task may take to start running
// (to be placed on a node and have its image ready) before the attempt
// fails, when [Options.ScheduleTimeout] is zero.
const DefaultScheduleTimeout = 5 * time.Minute

// Labels of the executor's own, on everything an attempt creates besides
// those of [executor].
const (
	// labelName holds the attempt's name ([attemptName]): the service's,
	// the output volume's, and the secrets' prefix.
	labelName = "dev.baton.swarm.name"
	// labelStopped on a service says [Executor.Stop] scaled it down.
	labelStopped = "dev.baton.swarm.stopped"
	// labelLost on a service says why [Executor.Wait] gave up on its task.
	labelLost = "dev.baton.swarm.lost"
	// labelImage on a service is the image as the step named it, when the
	// service runs it by ID.
	labelImage = "dev.baton.swarm.image"
)

// Options configure an [Executor].
type Options struct {
	// Host is the Docker API of a swarm manager, e.g.
	// unix:///var/run/docker.sock; empty means the environment
	// (DOCKER_HOST and friends), then the default.
	Host string
	// Nodes are the Docker APIs of the swarm's nodes, e.g.
	// tcp://node2:2376. Each is asked which node it is; the manager's own
	// engine counts without being listed. Tasks run only on nodes whose
	// engine answers: baton reads their output files there.
	Nodes []string
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Instance names this baton installation; what it creates carries it,
	// and ListOwned sees only that. Empty: everything of baton's is listed.
	Instance string
	// DefaultLimits apply to attempts whose spec leaves a limit zero. A zero
	// PIDs here means [DefaultPIDs]; zero memory or CPUs mean no limit.
	DefaultLimits executor.Limits
	// Constraints are swarm placement constraints every service gets, such
	// as "node.role==worker" or "node.labels.pool==ci".
	Constraints []string
	// ScheduleTimeout bounds how long a task may wait to run; zero means
	// [DefaultScheduleTimeout].
	ScheduleTimeout time.Duration
}

// Executor runs attempts as swarm services. Everything it needs is in the
// swarm and on its nodes, so any Executor on the same swarm can wait for,
// stop or remove an attempt another one started, including one from before
// a restart.
type Executor struct {
	cli             *client.Client
	logger          *slog.Logger
	instance        string
	defaults        executor.Limits
	constraints     []string
	rules           []constraint // constraints, as baton reads them
	scheduleTimeout time.Duration
	nodes           *nodeSet
}

var (
	_ executor.Executor    = (*Executor)(nil)
	_ executor.LogFollower = (*Executor)(nil)
	_ executor.Lister      = (*Executor)(nil)
)

// New returns a swarm executor. It does not contact the swarm; see
// [Executor.Ping].
func New(opts Options) (*Executor, error) {
	cli, err := newClient(opts.Host)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultLimits.PIDs == 0 {
		opts.DefaultLimits.PIDs = DefaultPIDs
	}
	if opts.ScheduleTimeout <= 0 {
		opts.ScheduleTimeout = DefaultScheduleTimeout
	}
	nodes, err := newNodeSet(cli, opts.Nodes, opts.Logger)
	if err != nil {
		cli.Close()
		return nil, err
	}
	return &Executor{
		cli:             cli,
		logger:          opts.Logger,
		instance:        opts.Instance,
		defaults:        opts.DefaultLimits,
		constraints:     opts.Constraints,
		rules:           parseConstraints(opts.Constraints),
		scheduleTimeout: opts.ScheduleTimeout,
		nodes:           nodes,
	}, nil
}

func newClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("swarm: client for %s: %w", host, err)
	}
	return cli, nil
}

// Close releases the clients' connections.
func (e *Executor) Close() error {
	e.nodes.close()
	return e.cli.Close()
}

// Name implements [executor.Executor].
func (*Executor) Name() string { return "swarm" }

// Ping reports whether the manager answers, and is a manager.
func (e *Executor) Ping(ctx context.Context) error {
	info, err := e.cli.Info(ctx)
	if err != nil {
		return fmt.Errorf("swarm: ping %s: %w", e.cli.DaemonHost(), err)
	}
	if !info.Swarm.ControlAvailable {
		return fmt.Errorf("swarm: the engine at %s is not a swarm manager (swarm state %q); point the swarm executor's host at a manager",
			e.cli.DaemonHost(), info.Swarm.LocalNodeState)
	}
	return nil
}

// attemptName names everything an attempt creates: baton-<slug>-<hash>,
// where the slug is the attempt's run, step and number as far as swarm's
// names allow (lower-case letters, digits and dashes, 63 characters for a
// service, 64 for a secret) and the hash tells apart attempts whose slugs
// were cut to the same prefix. It is the same for the same attempt of the
// same installation, so a second Start of one attempt is refused by the
// swarm, not run twice.
func attemptName(instance string, spec *executor.Spec) string {
	sum := sha256.Sum256([]byte(instance + "\x00" + spec.RunID + "\x00" + spec.Step + "\x00" + strconv.Itoa(spec.Attempt)))
	slug := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(spec.Slug(200)), "-"), "-")
	if len(slug) > 32 {
		slug = strings.TrimRight(slug[:32], "-")
	}
	return "baton-" + slug + "-" + hex.EncodeToString(sum[:5])
}

var notDNS = regexp.MustCompile(`[^a-z0-9]+`)

// labels are the attempt's labels, on its service, containers, volumes
// and secrets.
func (e *Executor) labels(spec *executor.Spec, name string) map[string]string {
	l := map[string]string{
		executor.LabelManaged: "true",
		executor.LabelRun:     spec.RunID,
		executor.LabelStep:    spec.Step,
		executor.LabelAttempt: strconv.Itoa(spec.Attempt),
		labelName:             name,
	}
	if e.instance != "" {
		l[executor.LabelInstance] = e.instance
	}
	return l
}
