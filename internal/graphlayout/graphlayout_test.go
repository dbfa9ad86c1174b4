package graphlayout

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var defaults = Options{NodeWidth: 160, NodeHeight: 44, GapX: 48, GapY: 16}

func n(id string, needs ...string) Node { return Node{ID: id, Needs: needs} }

func layout(t *testing.T, nodes []Node, o Options) *Graph {
	t.Helper()
	g, err := Layout(nodes, o)
	if err != nil {
		t.Fatalf("Layout: %v", err)
	}
	full, _ := o.withDefaults()
	checkGraph(t, nodes, full, g)
	again, err := Layout(nodes, o)
	if err != nil || !reflect.DeepEqual(g, again) {
		t.Fatalf("Layout differs from one call to the next: %v", err)
	}
	return g
}

func placed(g *Graph, id string) Placed {
	for _, p := range g.Nodes {
		if p.ID == id {
			return p
		}
	}
	panic("no node " + id)
}

func TestLayoutShapes(t *testing.T) {
	t.Parallel()
	t.Run("empty", func(t *testing.T) {
		g := layout(t, nil, Options{})
		if g.Width != 0 || g.Height != 0 || len(g.Nodes) != 0 || len(g.Edges) != 0 {
			t.Errorf("Layout(nil) = %+v", g)
		}
	})
	t.Run("one", func(t *testing.T) {
		g := layout(t, []Node{n("a")}, Options{})
		if want := (Placed{ID: "a", W: 160, H: 44}); g.Nodes[0] != want || g.Width != 160 || g.Height != 44 {
			t.Errorf("Layout(a) = %+v", g)
		}
	})
	t.Run("chain", func(t *testing.T) {
		g := layout(t, []Node{n("c", "b"), n("a"), n("b", "a")}, Options{})
		for id, layer := range map[string]int{"a": 0, "b": 1, "c": 2} {
			if p := placed(g, id); p.Layer != layer || p.Y != 0 {
				t.Errorf("%s at %+v, want layer %d, y 0", id, p, layer)
			}
		}
		if g.Width != 3*160+2*48 || g.Height != 44 {
			t.Errorf("size %dx%d", g.Width, g.Height)
		}
		want := []Edge{
			{From: "b", To: "c", Points: []Point{{368, 22}, {416, 22}}},
			{From: "a", To: "b", Points: []Point{{160, 22}, {208, 22}}},
		}
		if !reflect.DeepEqual(g.Edges, want) {
			t.Errorf("edges %+v, want %+v", g.Edges, want)
		}
	})
	t.Run("diamond", func(t *testing.T) {
		g := layout(t, []Node{n("a"), n("b", "a"), n("c", "a"), n("d", "b", "c")}, Options{})
		a, b, c, d := placed(g, "a"), placed(g, "b"), placed(g, "c"), placed(g, "d")
		if b.Layer != 1 || c.Layer != 1 || d.Layer != 2 || b.Y >= c.Y {
			t.Errorf("b %+v, c %+v, d %+v", b, c, d)
		}
		if a.Y != d.Y || a.Y+a.H/2 != (b.Y+c.Y+b.H)/2 {
			t.Errorf("a %+v and d %+v are not centred on b %+v and c %+v", a, d, b, c)
		}
	})
	t.Run("wide fan-out", func(t *testing.T) {
		nodes := []Node{n("root")}
		for i := range 30 {
			nodes = append(nodes, n(fmt.Sprintf("leaf%02d", i), "root"))
		}
		g := layout(t, nodes, Options{})
		for i := 1; i < len(nodes); i++ {
			if g.Nodes[i].Layer != 1 || g.Nodes[i].Y != (i-1)*60 {
				t.Errorf("%+v is not in input order in layer 1", g.Nodes[i])
			}
		}
		if root := g.Nodes[0]; root.Y+22 != g.Height/2 || g.Height != 30*60-16 {
			t.Errorf("root %+v is not centred in height %d", root, g.Height)
		}
	})
	t.Run("disconnected", func(t *testing.T) {
		g := layout(t, []Node{n("a"), n("x"), n("b", "a"), n("lone"), n("y", "x")}, Options{})
		if len(g.Edges) != 2 || placed(g, "lone").Layer != 0 || placed(g, "y").Layer != 1 {
			t.Errorf("%+v", g)
		}
	})
	t.Run("repeated need counts once", func(t *testing.T) {
		g := layout(t, []Node{n("a"), n("b", "a", "a")}, Options{})
		if len(g.Edges) != 1 {
			t.Errorf("edges %+v", g.Edges)
		}
	})
	t.Run("long edge goes round", func(t *testing.T) {
		g := layout(t, []Node{n("a"), n("b", "a"), n("c", "b", "a")}, Options{})
		long := g.Edges[2]
		if long.From != "a" || long.To != "c" || len(long.Points) != 4 {
			t.Fatalf("edge a -> c is %+v, want a route through a slot in layer 1", long)
		}
		if slot := long.Points[1]; slot.X != 208 || slot.Y == placed(g, "b").Y+22 || long.Points[2] != (Point{368, slot.Y}) {
			t.Errorf("edge a -> c passes %v, b is at %+v", long.Points, placed(g, "b"))
		}
	})
	t.Run("straight route is two points", func(t *testing.T) {
		g := layout(t, []Node{n("a"), n("d", "a")}, Options{})
		if len(g.Edges[0].Points) != 2 {
			t.Errorf("edge a -> d has points %v", g.Edges[0].Points)
		}
	})
	t.Run("options", func(t *testing.T) {
		o := Options{NodeWidth: 100, NodeHeight: 20, GapX: 10, GapY: 5}
		g := layout(t, []Node{n("a"), n("b", "a"), n("c", "a")}, o)
		if got := placed(g, "c"); got != (Placed{ID: "c", X: 110, Y: 25, W: 100, H: 20, Layer: 1}) {
			t.Errorf("c at %+v", got)
		}
		if g.Width != 210 || g.Height != 45 {
			t.Errorf("size %dx%d", g.Width, g.Height)
		}
	})
}

// TestLayoutUncrosses checks that the sweeps swap a pair of edges that
// cross in the input's order.
func TestLayoutUncrosses(t *testing.T) {
	t.Parallel()
	g := layout(t, []Node{n("a1"), n("a2"), n("b1", "a2"), n("b2", "a1")}, Options{})
	if a1, b1, b2 := placed(g, "a1"), placed(g, "b1"), placed(g, "b2"); b2.Y >= b1.Y || a1.Y != b2.Y {
		t.Errorf("b2 %+v should be beside a1 %+v, above b1 %+v", b2, a1, b1)
	}
}

// TestLayoutNoMoreCrossings checks on graphs with many crossings that the
// order found never crosses more than the input's order does, and crosses
// less in the example.
func TestLayoutNoMoreCrossings(t *testing.T) {
	t.Parallel()
	var nodes []Node
	for i := range 8 {
		nodes = append(nodes, n(fmt.Sprintf("r%d", i)))
	}
	for i := range 8 {
		nodes = append(nodes, n(fmt.Sprintf("m%d", i), fmt.Sprintf("r%d", (i*5)%8), fmt.Sprintf("r%d", (i*3+1)%8)))
	}
	for i := range 8 {
		nodes = append(nodes, n(fmt.Sprintf("z%d", i), fmt.Sprintf("m%d", (i*7)%8), fmt.Sprintf("r%d", i)))
	}
	before, after := crossingsBeforeAfter(t, nodes)
	if after >= before {
		t.Errorf("crossings %d before the sweeps, %d after", before, after)
	}
}

func crossingsBeforeAfter(t *testing.T, nodes []Node) (before, after int) {
	t.Helper()
	g, err := build(nodes)
	if err != nil {
		t.Fatal(err)
	}
	g.addSlots()
	g.fillLayers()
	before = g.crossings()
	g.reduceCrossings()
	return before, g.crossings()
}

func TestLayoutErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		nodes   []Node
		o       Options
		is      error
		want    []string // in the message
		notWant []string
	}{
		{name: "unknown need", nodes: []Node{n("a"), n("b", "a", "ghost")}, is: ErrUnknownNeed,
			want: []string{`step "b" needs "ghost"`}},
		{name: "cycle", nodes: []Node{n("d"), n("a", "c", "d"), n("b", "a"), n("c", "b"), n("e", "a")}, is: ErrCycle,
			want: []string{`"a" needs "c" needs "b" needs "a"`}, notWant: []string{`"d"`, `"e"`}},
		{name: "self cycle", nodes: []Node{n("a", "a")}, is: ErrCycle, want: []string{`"a" needs "a"`}},
		{name: "cycle after a path", nodes: []Node{n("x", "y"), n("y", "z"), n("z", "y")}, is: ErrCycle,
			want: []string{`"y" needs "z" needs "y"`}, notWant: []string{`"x"`}},
		{name: "duplicate", nodes: []Node{n("a"), n("a")}, want: []string{`step "a" is given twice`}},
		{name: "empty ID", nodes: []Node{n("a"), n("")}, want: []string{"node 1 has an empty ID"}},
		{name: "negative option", nodes: []Node{n("a")}, o: Options{GapY: -1}, want: []string{"GapY is -1"}},
		{name: "huge option", nodes: []Node{n("a")}, o: Options{NodeWidth: 1 << 20}, want: []string{"NodeWidth is 1048576"}},
	}
	for _, tt := range tests {
		g, err := Layout(tt.nodes, tt.o)
		if err == nil {
			t.Errorf("%s: Layout = %+v, want an error", tt.name, g)
			continue
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: error %q is not %q", tt.name, err, tt.is)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q names %s, which is not in the cycle", tt.name, err, w)
			}
		}
	}
}

func TestLayoutLongCycleMessage(t *testing.T) {
	t.Parallel()
	var nodes []Node
	for i := range 50 {
		nodes = append(nodes, n(fmt.Sprint(i), fmt.Sprint((i+1)%50)))
	}
	_, err := Layout(nodes, Options{})
	if !errors.Is(err, ErrCycle) || len(err.Error()) > 200 || !strings.Contains(err.Error(), "(40 more)") {
		t.Errorf("error %q", err)
	}
}

// TestLayoutManySlots checks a graph whose long edges would need more
// slots than maxSlots: they go straight, and the rest still holds.
func TestLayoutManySlots(t *testing.T) {
	t.Parallel()
	var nodes []Node
	for i := range 120 {
		var needs []string
		if i > 0 {
			needs = append(needs, fmt.Sprint(i-1))
		}
		if i > 1 {
			needs = append(needs, "0")
		}
		nodes = append(nodes, Node{ID: fmt.Sprint(i), Needs: needs})
	}
	// The edges from 0 skip 1+2+…+118 layers.
	nodes = append(nodes, Node{ID: "end", Needs: []string{"0"}})
	g := layout(t, nodes, Options{})
	if slotsNeeded(g) <= maxSlots {
		t.Fatalf("the graph needs only %d slots", slotsNeeded(g))
	}
	for _, e := range g.Edges {
		if len(e.Points) != 2 {
			t.Fatalf("edge %s -> %s has points %v", e.From, e.To, e.Points)
		}
	}
}
