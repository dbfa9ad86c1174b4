package mask

import "slices"

// automaton finds every occurrence of a set of patterns in one pass over the
// text (Aho–Corasick). Masking runs over every log line a step prints, so it
// must not cost a pass per pattern: with 10 secrets there are well over 100
// patterns.
//
// States are trie nodes, 0 the root. The root has a dense transition table,
// since most bytes of ordinary text lead straight back to it; other nodes
// keep their children in a sibling list (most have one), and a miss follows
// failure links. That keeps memory linear in the patterns' total length, and
// small per byte of it, which matters for large secrets such as PEM keys.
type automaton struct {
	root []int32 // [256]: the root's transitions, complete

	// Per state.
	label       []byte  // the byte that leads to the state from its parent
	firstChild  []int32 // 0 for none: the root is nobody's child
	nextSibling []int32 // 0 for none
	fail        []int32 // the longest proper suffix that is also a state
	// match is the length of the longest pattern that ends at this state,
	// its own or one reached through failure links; 0 for none. Every
	// shorter match ending at the same byte lies inside it, so masking
	// needs no other.
	match []int32
	// hold is how many of the last bytes read might still begin a match:
	// the depth of the deepest state on the failure chain (this one
	// included) that has children.
	hold []int32
}

func newAutomaton(patterns []string) *automaton {
	total := 1
	for _, p := range patterns {
		total += len(p)
	}
	a := &automaton{root: make([]int32, 256)}
	a.label = make([]byte, 1, total)
	a.firstChild = make([]int32, 1, total)
	a.nextSibling = make([]int32, 1, total)
	a.match = make([]int32, 1, total)
	depth := make([]int32, 1, total)
	for _, p := range patterns {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			t := a.child(s, p[i])
			if t == 0 {
				t = int32(len(a.label))
				a.label = append(a.label, p[i])
				a.firstChild = append(a.firstChild, 0)
				a.nextSibling = append(a.nextSibling, a.firstChild[s])
				a.match = append(a.match, 0)
				depth = append(depth, depth[s]+1)
				a.firstChild[s] = t
				if s == 0 {
					a.root[p[i]] = t
				}
			}
			s = t
		}
		a.match[s] = int32(len(p))
	}

	// The capacities above assume no pattern shares a prefix with another;
	// the forms of one secret share many, so give the spare room back.
	a.label = slices.Clone(a.label)
	a.firstChild = slices.Clone(a.firstChild)
	a.nextSibling = slices.Clone(a.nextSibling)
	a.match = slices.Clone(a.match)

	n := len(a.label)
	a.fail = make([]int32, n)
	a.hold = make([]int32, n)
	// Breadth first, so a state's failure target is finished before it.
	queue := make([]int32, 0, n)
	for t := a.firstChild[0]; t != 0; t = a.nextSibling[t] {
		queue = append(queue, t) // fail = 0
	}
	for i := 0; i < len(queue); i++ {
		s := queue[i]
		f := a.fail[s]
		a.match[s] = max(a.match[s], a.match[f])
		if a.firstChild[s] != 0 {
			a.hold[s] = depth[s]
		} else {
			a.hold[s] = a.hold[f]
		}
		for t := a.firstChild[s]; t != 0; t = a.nextSibling[t] {
			a.fail[t] = a.step(f, a.label[t])
			queue = append(queue, t)
		}
	}
	return a
}

// child returns the child of s reached by b, or 0.
func (a *automaton) child(s int32, b byte) int32 {
	if s == 0 {
		return a.root[b]
	}
	for t := a.firstChild[s]; t != 0; t = a.nextSibling[t] {
		if a.label[t] == b {
			return t
		}
	}
	return 0
}

// step returns the state after reading b in state s.
func (a *automaton) step(s int32, b byte) int32 {
	for s != 0 {
		for t := a.firstChild[s]; t != 0; t = a.nextSibling[t] {
			if a.label[t] == b {
				return t
			}
		}
		s = a.fail[s]
	}
	return a.root[b]
}

// maxHold returns the most bytes [automaton.hold] can ask to keep.
func (a *automaton) maxHold() int {
	m := int32(0)
	for _, h := range a.hold {
		m = max(m, h)
	}
	return int(m)
}
