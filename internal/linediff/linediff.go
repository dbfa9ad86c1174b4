// Package linediff computes the line differences between two texts, such as
// two revisions of a pipeline file, for showing them as a diff.
//
// [Lines] finds a shortest edit script with Myers' O(ND) algorithm in its
// linear-space form. Its cost is bounded: a part of the texts whose edit
// distance passes [MaxCost], or a diff whose work passes a fixed budget, is
// diffed more coarsely, first by anchoring on lines that occur once in each
// text, then by deleting the old lines and inserting the new ones. The
// script is still exact, only longer than it need be. The result depends on
// the texts alone.
package linediff

import (
	"fmt"
	"strings"
)

// Kind says what an [Op] does to a line.
type Kind uint8

// The kinds of [Op].
const (
	Equal  Kind = iota // the line is in both texts
	Delete             // the line is only in the old text
	Insert             // the line is only in the new text
)

// String returns "equal", "delete" or "insert".
func (k Kind) String() string {
	switch k {
	case Equal:
		return "equal"
	case Delete:
		return "delete"
	case Insert:
		return "insert"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Op is one line of an edit script.
type Op struct {
	Kind Kind
	// A and B are the line's 1-based numbers in the old and the new text,
	// 0 in the one it is not in.
	A, B int
	// Text is the line with its terminator: "\n", or "\r\n" (lines are
	// split at "\n" only). The last line of a text that does not end in
	// "\n" has none, so "x" and "x\n" are different lines, as in diff's
	// "No newline at end of file".
	Text string
}

// MaxCost is the edit distance past which [Lines] stops looking for a
// shortest script for a part of the texts and diffs it more coarsely.
const MaxCost = 2000

// workBudget bounds the steps of one [Lines] call, counted rather than
// timed so that the result is deterministic: a fraction of a second.
const workBudget = 1 << 24

// Lines returns an edit script that turns a into b: its Equal and Delete
// ops in order are the lines of a, its Equal and Insert ops those of b.
// Between two Equal ops the Deletes come before the Inserts. Memory is
// linear in the number of lines, time bounded by [MaxCost] and the budget.
func Lines(a, b string) []Op {
	return lines(a, b, MaxCost, workBudget)
}

// lines is Lines with the bounds as parameters, so that tests can reach the
// coarse paths with small texts.
func lines(a, b string, maxCost, budget int) []Op {
	al, bl := splitLines(a), splitLines(b)
	ax, bx, distinct := intern(al, bl)
	// A line in only one of the texts is a change in every script:
	// searching without such lines finds the same script faster.
	inA, inB := make([]bool, distinct), make([]bool, distinct)
	for _, id := range ax {
		inA[id] = true
	}
	for _, id := range bx {
		inB[id] = true
	}
	ka, kaAt := common(ax, inB)
	kb, kbAt := common(bx, inA)
	d := differ{a: ka, b: kb, delA: make([]bool, len(ka)), insB: make([]bool, len(kb)), maxCost: maxCost, budget: budget}
	d.compare(0, len(ka), 0, len(kb))

	delA, insB := make([]bool, len(ax)), make([]bool, len(bx))
	for i, id := range ax {
		delA[i] = !inB[id]
	}
	for i, at := range kaAt {
		delA[at] = d.delA[i]
	}
	for i, id := range bx {
		insB[i] = !inA[id]
	}
	for i, at := range kbAt {
		insB[at] = d.insB[i]
	}
	return buildOps(al, bl, delA, insB)
}

// common returns the lines of x that the other text has too, and where
// each is in x.
func common(x []int32, inOther []bool) (kept []int32, at []int) {
	for i, id := range x {
		if inOther[id] {
			kept = append(kept, id)
			at = append(at, i)
		}
	}
	return kept, at
}

// splitLines splits s after each "\n".
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := make([]string, 0, strings.Count(s, "\n")+1)
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			i = len(s) - 1
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// intern numbers the distinct lines of a and b, so that the diff compares
// integers.
func intern(a, b []string) (ax, bx []int32, distinct int) {
	ids := make(map[string]int32, len(a))
	number := func(lines []string) []int32 {
		x := make([]int32, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = int32(len(ids))
				ids[l] = id
			}
			x[i] = id
		}
		return x
	}
	ax, bx = number(a), number(b)
	return ax, bx, len(ids)
}

// buildOps builds the script from the marks of the lines to delete and
// insert: the others are equal in order.
func buildOps(al, bl []string, delA, insB []bool) []Op {
	ops := make([]Op, 0, max(len(al), len(bl)))
	i, j := 0, 0
	for {
		for ; i < len(al) && delA[i]; i++ {
			ops = append(ops, Op{Kind: Delete, A: i + 1, Text: al[i]})
		}
		for ; j < len(bl) && insB[j]; j++ {
			ops = append(ops, Op{Kind: Insert, B: j + 1, Text: bl[j]})
		}
		if i == len(al) && j == len(bl) {
			return ops
		}
		if i == len(al) || j == len(bl) || al[i] != bl[j] {
			panic("linediff: the unmarked lines differ")
		}
		ops = append(ops, Op{Kind: Equal, A: i + 1, B: j + 1, Text: al[i]})
		i++
		j++
	}
}
