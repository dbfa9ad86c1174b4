package pipeline

import (
	"container/heap"
	"slices"
)

// The methods below read [Step.Needs] as they stand, so they also work on a
// Spec built in code rather than by [Parse]: there a step without Needs
// waits for nothing, and names in Needs that match no step are ignored.

// Order returns the step names in an order that runs every step after the
// steps it needs. Among steps that could go next, the one listed first goes
// first, so a pipeline without needs: runs in listed order. Steps on a cycle,
// which only a Spec not made by [Parse] can have, come last in listed order.
func (s *Spec) Order() []string {
	g := newGraph(s.Steps)
	return g.names(g.order())
}

// Ancestors returns every step that step needs, directly or through other
// steps, in [Spec.Order]. It returns nil for an unknown step.
func (s *Spec) Ancestors(step string) []string {
	g := newGraph(s.Steps)
	i, ok := g.index[step]
	if !ok {
		return nil
	}
	anc := g.ancestors(i)
	var out []int
	for _, j := range g.order() {
		if anc[j] {
			out = append(out, j)
		}
	}
	return g.names(out)
}

// Ordered reports whether one of the steps a and b needs the other, directly
// or through other steps, so that they never run at the same time. Two steps
// that are not ordered may not write the same output. Ordered is false when
// a == b or either is unknown.
func (s *Spec) Ordered(a, b string) bool {
	g := newGraph(s.Steps)
	ia, okA := g.index[a]
	ib, okB := g.index[b]
	if !okA || !okB || ia == ib {
		return false
	}
	return g.ancestors(ia)[ib] || g.ancestors(ib)[ia]
}

// graph is the steps by index, with edges from a step to those it needs.
type graph struct {
	steps []Step
	index map[string]int
	needs [][]int
}

func newGraph(steps []Step) *graph {
	g := &graph{steps: steps, index: make(map[string]int, len(steps)), needs: make([][]int, len(steps))}
	for i, st := range steps {
		if _, dup := g.index[st.Name]; !dup {
			g.index[st.Name] = i
		}
	}
	added := make([]int, len(steps)) // added[j] == i+1: j is already in g.needs[i]
	for i, st := range steps {
		for _, n := range st.Needs {
			if j, ok := g.index[n]; ok && added[j] != i+1 {
				added[j] = i + 1
				g.needs[i] = append(g.needs[i], j)
			}
		}
		if !st.Finally {
			continue
		}
		// A finally step comes after every other step.
		for j, other := range steps {
			if !other.Finally && added[j] != i+1 {
				added[j] = i + 1
				g.needs[i] = append(g.needs[i], j)
			}
		}
	}
	return g
}

func (g *graph) names(idx []int) []string {
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = g.steps[i].Name
	}
	return out
}

// order is Kahn's algorithm, taking the lowest listed index among the ready
// steps each time.
func (g *graph) order() []int {
	waiting := make([]int, len(g.steps))
	dependents := make([][]int, len(g.steps))
	for i, needs := range g.needs {
		waiting[i] = len(needs)
		for _, j := range needs {
			dependents[j] = append(dependents[j], i)
		}
	}
	ready := &intHeap{}
	for i, w := range waiting {
		if w == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]int, 0, len(g.steps))
	done := make([]bool, len(g.steps))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, i)
		done[i] = true
		for _, d := range dependents[i] {
			if waiting[d]--; waiting[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	for i := range g.steps {
		if !done[i] {
			out = append(out, i)
		}
	}
	return out
}

// ancestors marks every step that step i needs, directly or not.
func (g *graph) ancestors(i int) []bool {
	seen := make([]bool, len(g.steps))
	stack := slices.Clone(g.needs[i])
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[j] {
			continue
		}
		seen[j] = true
		stack = append(stack, g.needs[j]...)
	}
	return seen
}

// cycle returns one cycle as step indexes, the first repeated at the end,
// or nil when there is none. The search starts from steps in listed order,
// so the same file always reports the same cycle.
func (g *graph) cycle() []int {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := make([]int, len(g.steps))
	var path []int
	var visit func(i int) []int
	visit = func(i int) []int {
		state[i] = onPath
		path = append(path, i)
		for _, j := range g.needs[i] {
			switch state[j] {
			case onPath:
				start := slices.Index(path, j)
				return append(slices.Clone(path[start:]), j)
			case unvisited:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = finished
		return nil
	}
	for i := range g.steps {
		if state[i] == unvisited {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
