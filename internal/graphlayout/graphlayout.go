// Package graphlayout lays out a pipeline's step graph, a directed acyclic
// graph of up to a few hundred steps, for drawing as SVG: steps in columns
// by depth, left to right, ordered within a column to cross few edges.
//
// It follows the layered (Sugiyama) method: a step's layer is the length of
// the longest path to it from a step that needs none; an edge that spans
// layers passes through a free slot in each layer between, so that it
// never crosses a step (unless that takes over 5000 slots, when long edges
// are drawn straight); a few sweeps of the barycenter heuristic order each
// layer, keeping the order with the fewest crossings seen. Everything is
// deterministic: ties go to the order of the input.
package graphlayout

import (
	"errors"
	"fmt"
	"strings"
)

// Node is a step and the steps it needs, which must run before it.
type Node struct {
	ID    string
	Needs []string // IDs of other nodes; repeats count once
}

// Options sets the sizes of the drawing, in pixels; a zero field takes the
// default given with it.
type Options struct {
	NodeWidth  int // 160
	NodeHeight int // 44
	GapX       int // 48: between layers
	GapY       int // 16: between the slots of a layer
}

// maxSize bounds each option, so that no coordinate can overflow.
const maxSize = 1 << 14

// Point is a position in the drawing: X grows to the right, Y down.
type Point struct{ X, Y int }

// Placed is a node's box in the drawing.
type Placed struct {
	ID         string
	X, Y, W, H int // top left corner and size
	Layer      int // 0 for a node that needs none; X grows with it
}

// Edge is the line from a needed node to the node that needs it.
type Edge struct {
	From, To string
	// Points is a polyline from the middle of From's right side to the
	// middle of To's left side. A segment between two layers is a
	// diagonal, which may be drawn as a curve with horizontal ends; one
	// within a layer, through a slot kept free for the edge, is
	// horizontal.
	Points []Point
}

// Graph is a laid out graph. Its drawing spans (0,0) to (Width, Height),
// with no margin.
type Graph struct {
	Width, Height int
	Nodes         []Placed // in the order of the input
	Edges         []Edge   // by the node that needs, in input order, then its Needs in order
}

// The errors of [Layout], wrapped with the steps concerned.
var (
	ErrUnknownNeed = errors.New("no step has that ID")
	ErrCycle       = errors.New("steps need each other in a cycle")
)

// Layout places nodes and routes the edges between them. It fails if an ID
// is empty or repeated, a node needs an unknown ID ([ErrUnknownNeed]), the
// needs form a cycle ([ErrCycle], naming the steps in it), or an option is
// negative or above 16384.
func Layout(nodes []Node, o Options) (*Graph, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	g, err := build(nodes)
	if err != nil {
		return nil, err
	}
	g.order()
	return g.place(o), nil
}

func (o Options) withDefaults() (Options, error) {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"NodeWidth", &o.NodeWidth, 160},
		{"NodeHeight", &o.NodeHeight, 44},
		{"GapX", &o.GapX, 48},
		{"GapY", &o.GapY, 16},
	} {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0 || *f.v > maxSize:
			return o, fmt.Errorf("graphlayout: option %s is %d; use 1 to %d, or 0 for %d", f.name, *f.v, maxSize, f.def)
		}
	}
	return o, nil
}

// build checks the nodes and returns the layered graph of them, without
// the slots of long edges yet.
func build(nodes []Node) (*layered, error) {
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if n.ID == "" {
			return nil, fmt.Errorf("graphlayout: node %d has an empty ID", i)
		}
		if _, dup := index[n.ID]; dup {
			return nil, fmt.Errorf("graphlayout: step %q is given twice", n.ID)
		}
		index[n.ID] = i
	}
	g := &layered{nodes: len(nodes)}
	g.v = make([]vertex, len(nodes))
	neededBy := make([]int, len(nodes)) // 1 + the last node seen needing each
	for i, n := range nodes {
		g.v[i].id = n.ID
		for _, need := range n.Needs {
			j, ok := index[need]
			if !ok {
				return nil, fmt.Errorf("graphlayout: step %q needs %q: %w", n.ID, need, ErrUnknownNeed)
			}
			if neededBy[j] != i+1 {
				neededBy[j] = i + 1
				g.v[i].preds = append(g.v[i].preds, j)
				g.edges = append(g.edges, [2]int{j, i})
			}
		}
	}
	for _, e := range g.edges {
		g.v[e[0]].succs = append(g.v[e[0]].succs, e[1])
	}
	if err := g.assignLayers(); err != nil {
		return nil, err
	}
	return g, nil
}

// assignLayers puts each node one layer after the furthest node it needs,
// visiting them in topological order (Kahn's algorithm), and reports a
// cycle if some cannot be visited.
func (g *layered) assignLayers() error {
	waiting := make([]int, g.nodes) // needs not yet placed
	var ready []int
	for i := range g.nodes {
		waiting[i] = len(g.v[i].preds)
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	for placed := 0; placed < len(ready); placed++ {
		u := ready[placed]
		for _, w := range g.v[u].succs {
			g.v[w].layer = max(g.v[w].layer, g.v[u].layer+1)
			if waiting[w]--; waiting[w] == 0 {
				ready = append(ready, w)
			}
		}
	}
	if len(ready) < g.nodes {
		return g.cycleError(waiting)
	}
	return nil
}

// cycleError names the steps of one cycle among the nodes still waiting:
// each has a need that waits too, so following those from the first must
// come back to one of them.
func (g *layered) cycleError(waiting []int) error {
	start := 0
	for waiting[start] == 0 {
		start++
	}
	seenAt := map[int]int{}
	var path []int
	for u := start; ; {
		if at, seen := seenAt[u]; seen {
			path = append(path[at:], u)
			break
		}
		seenAt[u] = len(path)
		path = append(path, u)
		for _, p := range g.v[u].preds {
			if waiting[p] > 0 {
				u = p
				break
			}
		}
	}
	names := make([]string, 0, min(len(path), 11))
	for i, u := range path {
		if i == 10 && len(path) > 11 {
			names = append(names, fmt.Sprintf("… (%d more)", len(path)-11), fmt.Sprintf("%q", g.v[path[len(path)-1]].id))
			break
		}
		names = append(names, fmt.Sprintf("%q", g.v[u].id))
	}
	return fmt.Errorf("graphlayout: %w: %s", ErrCycle, strings.Join(names, " needs "))
}
