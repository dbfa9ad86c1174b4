package graphlayout

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// FuzzLayout builds a graph from the bytes: a node count, then pairs that
// each make one node need another, given in a shuffled order, and sizes.
// Edges point from a lower to a higher node number unless back is set, so
// that most graphs are DAGs and some hold cycles. Layout must return
// ErrCycle exactly when there is one, and otherwise a layout that keeps
// every promise checkGraph checks, the same each time.
func FuzzLayout(f *testing.F) {
	f.Add(uint16(4), []byte{0, 1, 0, 2, 1, 3, 2, 3}, false, uint8(0), uint8(0))
	f.Add(uint16(3), []byte{0, 1, 1, 2, 0, 2}, false, uint8(7), uint8(3))
	f.Add(uint16(3), []byte{0, 1, 1, 2, 2, 0}, true, uint8(1), uint8(200))
	f.Add(uint16(40), []byte{0, 9, 3, 39, 5, 6, 7, 30, 1, 2, 2, 20, 20, 39, 0, 39, 11, 12}, false, uint8(99), uint8(1))
	f.Add(uint16(300), make([]byte, 64), false, uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, count uint16, pairs []byte, back bool, shuffle, size uint8) {
		n := int(count % 301)
		if n == 0 && len(pairs) > 0 {
			n = 1
		}
		needs := make([][]int, n)
		for i := 0; n > 0 && i+1 < len(pairs); i += 2 {
			a, b := int(pairs[i])*n/256, int(pairs[i+1])*n/256
			lo, hi := min(a, b), max(a, b)
			switch {
			case lo == hi && !back:
			case back && pairs[i] > pairs[i+1]:
				needs[lo] = append(needs[lo], hi)
			default:
				needs[hi] = append(needs[hi], lo)
			}
		}
		// Shuffle by a stride coprime to n.
		stride := 1 + int(shuffle)
		for n > 0 && gcd(stride, n) != 1 {
			stride++
		}
		nodes := make([]Node, n)
		for k := range n {
			i := k * stride % max(n, 1)
			nodes[k].ID = fmt.Sprintf("s%d", i)
			for _, j := range needs[i] {
				nodes[k].Needs = append(nodes[k].Needs, fmt.Sprintf("s%d", j))
			}
		}
		o := Options{NodeWidth: int(size % 17), NodeHeight: int(size % 13), GapX: int(size % 7), GapY: int(size % 5)}

		g, err := Layout(nodes, o)
		if cyclic := hasCycle(needs); cyclic != (err != nil) {
			t.Fatalf("graph %v: cycle %v, Layout error %v", needs, cyclic, err)
		}
		if err != nil {
			if !errors.Is(err, ErrCycle) {
				t.Fatalf("error %v is not ErrCycle", err)
			}
			return
		}
		full, _ := o.withDefaults()
		checkGraph(t, nodes, full, g)
		if again, _ := Layout(nodes, o); !reflect.DeepEqual(g, again) {
			t.Fatal("Layout differs from one call to the next")
		}
	})
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// hasCycle reports whether needs has a cycle, by depth-first search.
func hasCycle(needs [][]int) bool {
	state := make([]int, len(needs)) // 0 new, 1 on the stack, 2 done
	var visit func(u int) bool
	visit = func(u int) bool {
		state[u] = 1
		for _, v := range needs[u] {
			if state[v] == 1 || state[v] == 0 && visit(v) {
				return true
			}
		}
		state[u] = 2
		return false
	}
	for u := range needs {
		if state[u] == 0 && visit(u) {
			return true
		}
	}
	return false
}
