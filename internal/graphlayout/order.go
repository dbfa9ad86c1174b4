package graphlayout

import (
	"slices"
	"sort"
)

// layered is the graph being laid out. Its vertices are the nodes, in input
// order, then the slots that long edges pass through.
type layered struct {
	v      []vertex
	nodes  int      // how many of v are nodes
	edges  [][2]int // node to node, in the order of Graph.Edges
	routes [][]int  // per edge: the slots it passes through, if routed
	layers [][]int  // the vertices of each layer, top to bottom
	pos    []int    // per vertex: its index in its layer
	slots  int      // the size of the largest layer
}

type vertex struct {
	id           string // "" for an edge's slot
	layer        int
	preds, succs []int
}

// maxSlots bounds the slots made for long edges. A graph that would need
// more draws its long edges straight instead, across the layers between.
const maxSlots = 5000

// sweeps is how many times the layers are reordered, alternately from the
// left and from the right.
const sweeps = 8

// order adds the slots of long edges and orders every layer.
func (g *layered) order() {
	g.addSlots()
	g.fillLayers()
	g.reduceCrossings()
}

// fillLayers puts the vertices in their layers in the order of v.
func (g *layered) fillLayers() {
	layerCount := 0
	for i := range g.v {
		layerCount = max(layerCount, g.v[i].layer+1)
	}
	g.layers = make([][]int, layerCount)
	for i := range g.v {
		g.layers[g.v[i].layer] = append(g.layers[g.v[i].layer], i)
	}
	g.pos = make([]int, len(g.v))
	for _, layer := range g.layers {
		g.slots = max(g.slots, len(layer))
		for i, v := range layer {
			g.pos[v] = i
		}
	}
}

// reduceCrossings sweeps the layers, keeping the order with the fewest
// crossings seen, the first order included.
func (g *layered) reduceCrossings() {
	best, bestCrossings := g.snapshot(), g.crossings()
	for s := range sweeps {
		if bestCrossings == 0 {
			break
		}
		if s%2 == 0 {
			for l := 1; l < len(g.layers); l++ {
				g.sortLayer(l, func(v int) []int { return g.v[v].preds })
			}
		} else {
			for l := len(g.layers) - 2; l >= 0; l-- {
				g.sortLayer(l, func(v int) []int { return g.v[v].succs })
			}
		}
		if c := g.crossings(); c < bestCrossings {
			best, bestCrossings = g.snapshot(), c
		}
	}
	g.restore(best)
}

// addSlots gives each edge that spans more than one layer a slot in every
// layer between, chained in place of the edge, unless that takes more than
// maxSlots.
func (g *layered) addSlots() {
	need := 0
	for _, e := range g.edges {
		need += g.v[e[1]].layer - g.v[e[0]].layer - 1
	}
	g.routes = make([][]int, len(g.edges))
	if need == 0 || need > maxSlots {
		return
	}
	for i, e := range g.edges {
		from, to := e[0], e[1]
		if g.v[to].layer-g.v[from].layer == 1 {
			continue
		}
		g.v[to].preds = replace(g.v[to].preds, from, -1)
		g.v[from].succs = replace(g.v[from].succs, to, -1)
		prev := from
		for l := g.v[from].layer + 1; l < g.v[to].layer; l++ {
			s := len(g.v)
			g.v = append(g.v, vertex{layer: l, preds: []int{prev}})
			g.v[prev].succs = replace(g.v[prev].succs, -1, s)
			g.routes[i] = append(g.routes[i], s)
			prev = s
		}
		g.v[prev].succs = replace(g.v[prev].succs, -1, to)
		g.v[to].preds = replace(g.v[to].preds, -1, prev)
	}
}

// replace replaces the first old in s with new, or appends new if there is
// no old; it keeps a neighbour's place in the list while an edge is
// rerouted.
func replace(s []int, old, new int) []int {
	if i := slices.Index(s, old); i >= 0 {
		s[i] = new
		return s
	}
	return append(s, new)
}

// centre is a vertex's position in units of slots, with each layer
// centred on the largest, as place draws it.
func (g *layered) centre(v int) float64 {
	return float64(g.pos[v]) + float64(g.slots-len(g.layers[g.v[v].layer]))/2
}

// sortLayer orders layer l by the mean centre of each vertex's neighbours
// in the layer already ordered (the barycenter heuristic). A vertex with
// none keeps its own centre; ties keep the current order.
func (g *layered) sortLayer(l int, neighbours func(v int) []int) {
	layer := g.layers[l]
	key := make(map[int]float64, len(layer))
	for _, v := range layer {
		nb := neighbours(v)
		if len(nb) == 0 {
			key[v] = g.centre(v)
			continue
		}
		sum := 0.0
		for _, u := range nb {
			sum += g.centre(u)
		}
		key[v] = sum / float64(len(nb))
	}
	sort.SliceStable(layer, func(i, j int) bool { return key[layer[i]] < key[layer[j]] })
	for i, v := range layer {
		g.pos[v] = i
	}
}

func (g *layered) snapshot() [][]int {
	s := make([][]int, len(g.layers))
	for i, layer := range g.layers {
		s[i] = slices.Clone(layer)
	}
	return s
}

func (g *layered) restore(s [][]int) {
	g.layers = s
	for _, layer := range g.layers {
		for i, v := range layer {
			g.pos[v] = i
		}
	}
}

// crossings counts the pairs of edges between adjacent layers that cross.
// Edges drawn straight across layers are not counted.
func (g *layered) crossings() int {
	total := 0
	var segs [][2]int
	for l := 0; l+1 < len(g.layers); l++ {
		segs = segs[:0]
		for _, u := range g.layers[l] {
			for _, w := range g.v[u].succs {
				if g.v[w].layer == l+1 {
					segs = append(segs, [2]int{g.pos[u], g.pos[w]})
				}
			}
		}
		total += inversions(segs, len(g.layers[l+1]))
	}
	return total
}

// inversions counts the pairs of segments (a, b) with a's ends before b's
// on one side and after them on the other, with a Fenwick tree over the
// n positions of the second side.
func inversions(segs [][2]int, n int) int {
	slices.SortFunc(segs, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	tree := make([]int, n+1)
	count, seen := 0, 0
	for _, s := range segs {
		// Segments seen so far start no later; those ending after s
		// cross it.
		below := 0
		for i := s[1] + 1; i > 0; i -= i & -i {
			below += tree[i]
		}
		count += seen - below
		for i := s[1] + 1; i <= n; i += i & -i {
			tree[i]++
		}
		seen++
	}
	return count
}
