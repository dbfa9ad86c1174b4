package swarm

import (
	"slices"
	"strings"

	"github.com/docker/docker/api/types/swarm"
)

// constraint is a placement constraint of [Options.Constraints] as far as
// baton reads it, to prepare an attempt's output volume only on the nodes
// its task may be placed on. The swarm still applies the constraints
// itself; baton only has to never rule out a node the swarm would take.
// So a constraint it cannot read, or whose key it does not know, rules out
// no node, and the swarm's own rule is followed where it is known (keys
// and values compared without regard to case, a missing label or field
// read as empty) and taken the way that keeps a node where it is not.
type constraint struct {
	key   string // lower case, except the label's name
	equal bool   // == rather than !=
	value string
	known bool // the key is one baton can look up on a node
}

// Keys of placement constraints, as swarm spells them.
const (
	nodeLabelPrefix   = "node.labels."
	engineLabelPrefix = "engine.labels."
)

// parseConstraints reads constraints; one that does not parse is left out,
// which rules out no node.
func parseConstraints(list []string) []constraint {
	var out []constraint
	for _, s := range list {
		if c, ok := parseConstraint(s); ok {
			out = append(out, c)
		}
	}
	return out
}

// parseConstraint reads "key==value" or "key!=value", spaces around either
// allowed. As in swarm, the first == decides, and only then the first !=.
func parseConstraint(s string) (constraint, bool) {
	var c constraint
	key, value, ok := strings.Cut(s, "==")
	c.equal = true
	if !ok {
		if key, value, ok = strings.Cut(s, "!="); !ok {
			return constraint{}, false
		}
		c.equal = false
	}
	key, c.value = strings.TrimSpace(key), strings.TrimSpace(value)
	if key == "" {
		return constraint{}, false
	}
	lower := strings.ToLower(key)
	switch {
	case lower == "node.id", lower == "node.hostname", lower == "node.role",
		lower == "node.platform.os", lower == "node.platform.arch":
		c.key, c.known = lower, true
	case len(key) > len(nodeLabelPrefix) && strings.HasPrefix(lower, nodeLabelPrefix):
		c.key, c.known = nodeLabelPrefix+key[len(nodeLabelPrefix):], true
	case len(key) > len(engineLabelPrefix) && strings.HasPrefix(lower, engineLabelPrefix):
		c.key, c.known = engineLabelPrefix+key[len(engineLabelPrefix):], true
	default:
		c.key = lower
	}
	return c, true
}

// rulesOut reports whether the swarm surely places no task of these
// constraints on n: one known constraint fails there. Where swarm and
// baton might read a comparison differently (case, a role changing), the
// node is kept.
func rulesOut(cs []constraint, n swarm.Node) bool {
	for _, c := range cs {
		if !c.known {
			continue
		}
		values := nodeValues(n, c.key)
		if c.equal && !slices.ContainsFunc(values, func(v string) bool { return strings.EqualFold(v, c.value) }) {
			return true
		}
		if !c.equal && !slices.ContainsFunc(values, func(v string) bool { return v != c.value }) {
			return true
		}
	}
	return false
}

// nodeValues are the values a known constraint key may be read as on n:
// "" for what n does not have, and for its role both the one asked for
// and the one it has, which differ while it is promoted or demoted.
func nodeValues(n swarm.Node, key string) []string {
	d := n.Description
	switch {
	case key == "node.id":
		return []string{n.ID}
	case key == "node.hostname":
		return []string{d.Hostname}
	case key == "node.role":
		has := swarm.NodeRoleWorker
		if n.ManagerStatus != nil {
			has = swarm.NodeRoleManager
		}
		return []string{string(n.Spec.Role), string(has)}
	case key == "node.platform.os":
		return []string{d.Platform.OS}
	case key == "node.platform.arch":
		return []string{d.Platform.Architecture}
	case strings.HasPrefix(key, nodeLabelPrefix):
		return []string{n.Spec.Labels[key[len(nodeLabelPrefix):]]}
	case strings.HasPrefix(key, engineLabelPrefix):
		return []string{d.Engine.Labels[key[len(engineLabelPrefix):]]}
	}
	return []string{""}
}
