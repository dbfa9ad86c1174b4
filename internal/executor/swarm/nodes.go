package swarm

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// discoverTimeout bounds asking one engine which node it is.
const discoverTimeout = 10 * time.Second

// rediscoverAfter is how long an engine that did not answer is left alone
// before it is asked again, so that a node that is down does not slow
// every attempt.
const rediscoverAfter = 30 * time.Second

// nodeSet knows the engines of the swarm's nodes by node ID.
type nodeSet struct {
	logger *slog.Logger
	// engines are the manager's client and one per [Options.Nodes] host.
	engines []*client.Client

	mu sync.Mutex
	// byNode maps a node ID to its engine, for engines that answered.
	byNode map[string]*client.Client
	// known are the engines whose node ID is in byNode.
	known map[*client.Client]bool
	// lastTry is when an engine that did not answer was last asked.
	lastTry map[*client.Client]time.Time
	// imported are the node IDs whose engine has [OutputImage].
	imported map[string]bool
	// importMu serializes imports of [OutputImage].
	importMu sync.Mutex
}

func newNodeSet(manager *client.Client, hosts []string, logger *slog.Logger) (*nodeSet, error) {
	n := &nodeSet{
		logger:   logger,
		engines:  []*client.Client{manager},
		byNode:   map[string]*client.Client{},
		known:    map[*client.Client]bool{},
		lastTry:  map[*client.Client]time.Time{},
		imported: map[string]bool{},
	}
	seen := map[string]bool{manager.DaemonHost(): true}
	for _, h := range hosts {
		cli, err := client.NewClientWithOpts(client.WithHost(h), client.WithAPIVersionNegotiation())
		if err != nil {
			n.close()
			return nil, fmt.Errorf("swarm: client for node %s: %w", h, err)
		}
		if seen[cli.DaemonHost()] {
			cli.Close()
			continue
		}
		seen[cli.DaemonHost()] = true
		n.engines = append(n.engines, cli)
	}
	return n, nil
}

// close closes the node engines' clients, not the manager's.
func (n *nodeSet) close() {
	for _, cli := range n.engines[1:] {
		cli.Close()
	}
}

// all returns the engines by node ID, asking first the engines whose node
// is not known yet.
func (n *nodeSet) all(ctx context.Context) map[string]*client.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.discover(ctx)
	return maps.Clone(n.byNode)
}

// engine returns the engine of node id, or nil if no engine answers for it.
func (n *nodeSet) engine(ctx context.Context, id string) *client.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if cli := n.byNode[id]; cli != nil {
		return cli
	}
	n.discover(ctx)
	return n.byNode[id]
}

// discover asks every engine not known yet which node it is. n.mu is held.
func (n *nodeSet) discover(ctx context.Context) {
	for _, cli := range n.engines {
		if n.known[cli] || time.Since(n.lastTry[cli]) < rediscoverAfter {
			continue
		}
		id, err := nodeID(ctx, cli)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.lastTry[cli] = time.Now()
			n.logger.Warn("swarm: node engine does not answer; no task runs on its node until it does",
				"host", cli.DaemonHost(), "err", err)
			continue
		}
		n.known[cli] = true
		n.byNode[id] = cli
	}
}

// nodeID asks an engine which swarm node it is.
func nodeID(ctx context.Context, cli *client.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	info, err := cli.Info(ctx)
	if err != nil {
		return "", err
	}
	if info.Swarm.NodeID == "" {
		return "", fmt.Errorf("the engine at %s is not in a swarm", cli.DaemonHost())
	}
	return info.Swarm.NodeID, nil
}

// hasImage says whether node id's engine is known to have [OutputImage].
func (n *nodeSet) hasImage(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.imported[id]
}

func (n *nodeSet) setImage(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.imported[id] = true
}
