package graphlayout

import (
	"testing"
)

// checkGraph fails the test unless g is a layout of nodes with options o
// (defaults applied) that keeps every documented promise.
func checkGraph(t *testing.T, nodes []Node, o Options, g *Graph) {
	t.Helper()
	if len(g.Nodes) != len(nodes) {
		t.Fatalf("%d nodes placed, %d given", len(g.Nodes), len(nodes))
	}
	byID := map[string]Placed{}
	for i, p := range g.Nodes {
		if p.ID != nodes[i].ID {
			t.Fatalf("node %d is %q, given %q", i, p.ID, nodes[i].ID)
		}
		byID[p.ID] = p
		if p.W != o.NodeWidth || p.H != o.NodeHeight {
			t.Fatalf("node %q is %dx%d, want %dx%d", p.ID, p.W, p.H, o.NodeWidth, o.NodeHeight)
		}
		if p.X < 0 || p.Y < 0 || p.X+p.W > g.Width || p.Y+p.H > g.Height {
			t.Fatalf("node %q at %+v lies outside %dx%d", p.ID, p, g.Width, g.Height)
		}
		if p.X != p.Layer*(o.NodeWidth+o.GapX) {
			t.Fatalf("node %q in layer %d is at x %d", p.ID, p.Layer, p.X)
		}
	}
	// Layers are the longest path from a root.
	for _, n := range nodes {
		want := 0
		for _, need := range n.Needs {
			want = max(want, byID[need].Layer+1)
		}
		if got := byID[n.ID].Layer; got != want {
			t.Fatalf("node %q is in layer %d, its longest path from a root is %d", n.ID, got, want)
		}
	}
	for i := range g.Nodes {
		for j := i + 1; j < len(g.Nodes); j++ {
			if overlap(g.Nodes[i], g.Nodes[j]) {
				t.Fatalf("nodes %+v and %+v overlap", g.Nodes[i], g.Nodes[j])
			}
		}
	}

	var want [][2]string
	for _, n := range nodes {
		seen := map[string]bool{}
		for _, need := range n.Needs {
			if !seen[need] {
				seen[need] = true
				want = append(want, [2]string{need, n.ID})
			}
		}
	}
	if len(g.Edges) != len(want) {
		t.Fatalf("%d edges, want %d", len(g.Edges), len(want))
	}
	routed := slotsNeeded(g) <= maxSlots
	for i, e := range g.Edges {
		if e.From != want[i][0] || e.To != want[i][1] {
			t.Fatalf("edge %d is %s -> %s, want %s -> %s", i, e.From, e.To, want[i][0], want[i][1])
		}
		from, to := byID[e.From], byID[e.To]
		if len(e.Points) < 2 {
			t.Fatalf("edge %s -> %s has points %v", e.From, e.To, e.Points)
		}
		if start := (Point{from.X + from.W, from.Y + from.H/2}); e.Points[0] != start {
			t.Fatalf("edge %s -> %s starts at %v, not %v on %+v", e.From, e.To, e.Points[0], start, from)
		}
		if end := (Point{to.X, to.Y + to.H/2}); e.Points[len(e.Points)-1] != end {
			t.Fatalf("edge %s -> %s ends at %v, not %v on %+v", e.From, e.To, e.Points[len(e.Points)-1], end, to)
		}
		for k := 1; k < len(e.Points); k++ {
			p, q := e.Points[k-1], e.Points[k]
			if q.X <= p.X {
				t.Fatalf("edge %s -> %s goes back or up and down: %v", e.From, e.To, e.Points)
			}
			if !routed {
				continue
			}
			for _, n := range g.Nodes {
				if crossesBox(p, q, n) {
					t.Fatalf("edge %s -> %s crosses node %+v: %v", e.From, e.To, n, e.Points)
				}
			}
		}
	}
}

func overlap(a, b Placed) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

// slotsNeeded counts the layers that edges span beyond their first.
func slotsNeeded(g *Graph) int {
	layer := map[string]int{}
	for _, n := range g.Nodes {
		layer[n.ID] = n.Layer
	}
	n := 0
	for _, e := range g.Edges {
		n += layer[e.To] - layer[e.From] - 1
	}
	return n
}

// crossesBox reports whether the segment p-q passes through the inside of
// box n (Liang–Barsky clipping against the open box).
func crossesBox(p, q Point, n Placed) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := float64(q.X-p.X), float64(q.Y-p.Y)
	clip := func(d, dist float64) bool { // keep the part where d·t < dist
		switch {
		case d == 0:
			return dist > 0
		case d > 0:
			t1 = min(t1, dist/d)
		default:
			t0 = max(t0, dist/d)
		}
		return true
	}
	px, py := float64(p.X), float64(p.Y)
	ok := clip(-dx, px-float64(n.X)) && clip(dx, float64(n.X+n.W)-px) &&
		clip(-dy, py-float64(n.Y)) && clip(dy, float64(n.Y+n.H)-py)
	return ok && t0 < t1
}
