package linediff

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// unified renders hunks as a unified diff's body.
func unified(hunks []Hunk) string {
	var b strings.Builder
	for _, h := range hunks {
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", h.OldStart, h.OldLines, h.NewStart, h.NewLines)
		for _, op := range h.Ops {
			b.WriteString(map[Kind]string{Equal: " ", Delete: "-", Insert: "+"}[op.Kind])
			b.WriteString(strings.TrimSuffix(op.Text, "\n"))
			b.WriteString("\n")
		}
	}
	return b.String()
}

func lineList(n int, change map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if c, ok := change[i]; ok {
			b.WriteString(c)
			continue
		}
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

func TestHunks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		a, b    string
		context int
		want    string
	}{
		{name: "no change", a: "1\n2\n", b: "1\n2\n", context: 3, want: ""},
		{name: "both empty", a: "", b: "", context: 3, want: ""},
		{
			name: "two apart", context: 3,
			a: lineList(20, nil), b: lineList(20, map[int]string{5: "five\n", 15: "fifteen\n"}),
			want: "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n" +
				"@@ -12,7 +12,7 @@\n 12\n 13\n 14\n-15\n+fifteen\n 16\n 17\n 18\n",
		},
		{
			name: "six equal lines apart share a hunk", context: 3,
			a: lineList(20, nil), b: lineList(20, map[int]string{5: "five\n", 12: "twelve\n"}),
			want: "@@ -2,14 +2,14 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n 11\n-12\n+twelve\n 13\n 14\n 15\n",
		},
		{
			name: "seven equal lines apart do not", context: 3,
			a: lineList(20, nil), b: lineList(20, map[int]string{5: "five\n", 13: "thirteen\n"}),
			want: "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n" +
				"@@ -10,7 +10,7 @@\n 10\n 11\n 12\n-13\n+thirteen\n 14\n 15\n 16\n",
		},
		{
			name: "context clipped at the ends", context: 3,
			a: lineList(4, nil), b: lineList(4, map[int]string{1: "one\n", 4: "four\n"}),
			want: "@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n-4\n+four\n",
		},
		{
			name: "insert with no context", context: 0,
			a: "1\n2\n3\n4\n", b: "1\n2\n3\nnew\n4\n",
			want: "@@ -3,0 +4,1 @@\n+new\n",
		},
		{
			name: "delete with no context", context: 0,
			a: "1\n2\n3\n", b: "1\n3\n",
			want: "@@ -2,1 +1,0 @@\n-2\n",
		},
		{
			name: "negative context is 0", context: -5,
			a: "1\n2\n3\n", b: "1\n3\n",
			want: "@@ -2,1 +1,0 @@\n-2\n",
		},
		{
			name: "into an empty text", context: 3,
			a: "", b: "x\ny\n",
			want: "@@ -0,0 +1,2 @@\n+x\n+y\n",
		},
		{
			name: "to an empty text", context: 3,
			a: "x\ny\n", b: "",
			want: "@@ -1,2 +0,0 @@\n-x\n-y\n",
		},
		{
			name: "insert at the top", context: 1,
			a: "1\n2\n3\n", b: "0\n1\n2\n3\n",
			want: "@@ -1,1 +1,2 @@\n+0\n 1\n",
		},
	}
	for _, tt := range tests {
		ops := Lines(tt.a, tt.b)
		hunks := Hunks(ops, tt.context)
		if got := unified(hunks); got != tt.want {
			t.Errorf("%s: Hunks(Lines(%q, %q), %d) =\n%s\nwant\n%s", tt.name, tt.a, tt.b, tt.context, got, tt.want)
		}
		checkHunks(t, ops, tt.context, hunks)
	}
}

// checkHunks fails the test unless hunks are runs of ops, in order, each
// holding changes with exactly context equal lines around them where ops
// have them, apart by more than 2·context equal lines, holding all the
// changes between them, with ranges that match.
func checkHunks(t *testing.T, ops []Op, context int, hunks []Hunk) {
	t.Helper()
	context = max(context, 0)
	pos, old, new := 0, 0, 0 // ops before pos hold old and new lines
	lastChange := -1
	for i, h := range hunks {
		if len(h.Ops) == 0 {
			t.Fatalf("hunk %d is empty", i)
		}
		start := pos
		for start < len(ops) && ops[start] != h.Ops[0] {
			if ops[start].Kind != Equal {
				t.Fatalf("change %+v is in no hunk", ops[start])
			}
			start++
		}
		if start+len(h.Ops) > len(ops) || !slices.Equal(ops[start:start+len(h.Ops)], h.Ops) {
			t.Fatalf("hunk %d is not a run of the script's ops after op %d", i, pos)
		}
		for _, op := range ops[pos:start] {
			old, new = advance(op.Kind, old, new)
		}
		lead, trail := 0, 0
		for lead < len(h.Ops) && h.Ops[lead].Kind == Equal {
			lead++
		}
		for trail < len(h.Ops) && h.Ops[len(h.Ops)-1-trail].Kind == Equal {
			trail++
		}
		end := start + len(h.Ops)
		if i > 0 && start+lead-lastChange-1 <= 2*context {
			t.Fatalf("the changes of hunks %d and %d are %d equal lines apart, context %d", i-1, i, start+lead-lastChange-1, context)
		}
		lastChange = end - 1 - trail
		if lead == len(h.Ops) || lead > context || trail > context ||
			lead < context && start > 0 || trail < context && end < len(ops) {
			t.Fatalf("hunk %d has %d equal lines before and %d after its changes, context %d", i, lead, trail, context)
		}
		endOld, endNew := old, new
		for _, op := range h.Ops {
			endOld, endNew = advance(op.Kind, endOld, endNew)
		}
		wantOld, wantNew := rangeStart(old, endOld), rangeStart(new, endNew)
		if h.OldStart != wantOld || h.OldLines != endOld-old || h.NewStart != wantNew || h.NewLines != endNew-new {
			t.Fatalf("hunk %d is -%d,%d +%d,%d, want -%d,%d +%d,%d", i,
				h.OldStart, h.OldLines, h.NewStart, h.NewLines, wantOld, endOld-old, wantNew, endNew-new)
		}
		if f := firstNumbers(h.Ops); f[0] != 0 && f[0] != h.OldStart || f[1] != 0 && f[1] != h.NewStart {
			t.Fatalf("hunk %d starts at %d and %d, its ops at %v", i, h.OldStart, h.NewStart, f)
		}
		pos, old, new = end, endOld, endNew
	}
	for _, op := range ops[pos:] {
		if op.Kind != Equal {
			t.Fatalf("change %+v is in no hunk", op)
		}
	}
}

// firstNumbers returns the first line numbers of each text in ops, 0 for
// none.
func firstNumbers(ops []Op) [2]int {
	var first [2]int
	for _, op := range ops {
		if first[0] == 0 && op.A != 0 {
			first[0] = op.A
		}
		if first[1] == 0 && op.B != 0 {
			first[1] = op.B
		}
	}
	return first
}
