package graphlayout

// place turns the ordered layers into coordinates: a column per layer, a
// row per slot, each layer centred on the largest.
func (g *layered) place(o Options) *Graph {
	out := &Graph{Nodes: make([]Placed, g.nodes), Edges: make([]Edge, len(g.edges))}
	if g.nodes == 0 {
		return out
	}
	stepX, stepY := o.NodeWidth+o.GapX, o.NodeHeight+o.GapY
	out.Width = len(g.layers)*stepX - o.GapX
	out.Height = g.slots*stepY - o.GapY
	corner := func(v int) Point {
		layer := g.v[v].layer
		top := (g.slots - len(g.layers[layer])) * stepY / 2
		return Point{X: layer * stepX, Y: top + g.pos[v]*stepY}
	}
	for i := range out.Nodes {
		c := corner(i)
		out.Nodes[i] = Placed{ID: g.v[i].id, X: c.X, Y: c.Y, W: o.NodeWidth, H: o.NodeHeight, Layer: g.v[i].layer}
	}
	mid := o.NodeHeight / 2
	for i, e := range g.edges {
		from, to := corner(e[0]), corner(e[1])
		points := []Point{{from.X + o.NodeWidth, from.Y + mid}}
		for _, s := range g.routes[i] {
			c := corner(s)
			points = appendPoint(points, Point{c.X, c.Y + mid})
			points = appendPoint(points, Point{c.X + o.NodeWidth, c.Y + mid})
		}
		points = appendPoint(points, Point{to.X, to.Y + mid})
		out.Edges[i] = Edge{From: g.v[e[0]].id, To: g.v[e[1]].id, Points: points}
	}
	return out
}

// appendPoint appends p, first dropping the last point if it lies in the
// middle of a horizontal run, so that a straight route has two points.
func appendPoint(points []Point, p Point) []Point {
	if n := len(points); n >= 2 && points[n-2].Y == p.Y && points[n-1].Y == p.Y {
		points = points[:n-1]
	}
	return append(points, p)
}
