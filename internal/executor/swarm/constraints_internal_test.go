package swarm

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
)

// testNode is a worker with a hostname, a platform and labels.
func testNode() swarm.Node {
	n := swarm.Node{ID: "n1"}
	n.Spec.Role = swarm.NodeRoleWorker
	n.Spec.Labels = map[string]string{"pool": "ci", "Zone": "A"}
	n.Description.Hostname = "build-1"
	n.Description.Platform = swarm.Platform{OS: "linux", Architecture: "x86_64"}
	n.Description.Engine.Labels = map[string]string{"disk": "ssd"}
	return n
}

// A node is ruled out only where the swarm surely would not place a task:
// a known constraint fails there. What baton cannot read rules out nothing.
func TestRulesOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		constraints []string
		out         bool
	}{
		{nil, false},
		{[]string{"node.id==n1"}, false},
		{[]string{"node.id==n2"}, true},
		{[]string{"node.id != n1"}, true},
		{[]string{"node.id!=n2"}, false},
		{[]string{"NODE.ID==n2"}, true},
		{[]string{"node.hostname==build-1"}, false},
		{[]string{"node.hostname==BUILD-1"}, false}, // case: kept either way
		{[]string{"node.hostname!=BUILD-1"}, false}, // kept: swarm may compare with case
		{[]string{"node.hostname==build-2"}, true},
		{[]string{"node.role==worker"}, false},
		{[]string{"node.role==manager"}, true},
		{[]string{"node.role!=worker"}, true},
		{[]string{"node.platform.os==linux", "node.platform.arch==x86_64"}, false},
		{[]string{"node.platform.os==windows"}, true},
		{[]string{"node.labels.pool==ci"}, false},
		{[]string{"node.labels.pool==cd"}, true},
		{[]string{"node.labels.pool!=ci"}, true},
		{[]string{"node.labels.Zone==a"}, false},
		{[]string{"node.labels.zone==A"}, true}, // the label's name has case
		{[]string{"node.labels.missing==x"}, true},
		{[]string{"node.labels.missing!=x"}, false},
		{[]string{"engine.labels.disk==ssd"}, false},
		{[]string{"engine.labels.disk==hdd"}, true},
		{[]string{"node.ip==10.0.0.1"}, false}, // unknown to baton
		{[]string{"node.labels.==x"}, false},
		{[]string{"nonsense"}, false},
		{[]string{"==x"}, false},
		{[]string{"node.id==n1", "node.labels.pool==cd"}, true},
	} {
		if got := rulesOut(parseConstraints(tc.constraints), testNode()); got != tc.out {
			t.Errorf("rulesOut(%q) = %v, want %v", tc.constraints, got, tc.out)
		}
	}
	mgr := testNode()
	mgr.ManagerStatus = &swarm.ManagerStatus{} // being demoted: either role may hold
	if rulesOut(parseConstraints([]string{"node.role==manager"}), mgr) || rulesOut(parseConstraints([]string{"node.role==worker"}), mgr) {
		t.Error("a node changing role is ruled out by a role it has or will have")
	}
}

// FuzzConstraint: whatever an operator writes as a constraint, reading it
// does not panic, and a node that has exactly what an == constraint
// asks for is never ruled out by it.
func FuzzConstraint(f *testing.F) {
	for _, seed := range []string{
		"node.id==n1", "node.hostname != x", "node.labels.a.b==c", "engine.labels.x!=", "node.role==manager",
		"==", "!=", "a==b!=c", "a!=b==c", "node.labels.==", " node.platform.os == linux ", "\x00==\x00", "é==É",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := parseConstraint(s)
		rulesOut(parseConstraints([]string{s}), testNode())
		if !ok || !c.known || !c.equal {
			return
		}
		n := testNode()
		switch {
		case c.key == "node.id":
			n.ID = c.value
		case c.key == "node.hostname":
			n.Description.Hostname = c.value
		case c.key == "node.role":
			n.Spec.Role = swarm.NodeRole(c.value)
		case c.key == "node.platform.os":
			n.Description.Platform.OS = c.value
		case c.key == "node.platform.arch":
			n.Description.Platform.Architecture = c.value
		case strings.HasPrefix(c.key, nodeLabelPrefix):
			n.Spec.Labels = map[string]string{c.key[len(nodeLabelPrefix):]: c.value}
		case strings.HasPrefix(c.key, engineLabelPrefix):
			n.Description.Engine.Labels = map[string]string{c.key[len(engineLabelPrefix):]: c.value}
		default:
			t.Fatalf("known key %q that nodeValues does not read", c.key)
		}
		if rulesOut([]constraint{c}, n) {
			t.Errorf("%q rules out a node that has %s=%q", s, c.key, c.value)
		}
	})
}
