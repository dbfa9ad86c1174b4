package linediff

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// script renders ops one per line: " x", "-x", "+x", with each line's
// numbers, so that a table can spell out the expected script.
func script(ops []Op) string {
	var b strings.Builder
	for _, op := range ops {
		sign := map[Kind]string{Equal: " ", Delete: "-", Insert: "+"}[op.Kind]
		fmt.Fprintf(&b, "%s%d,%d %q\n", sign, op.A, op.B, op.Text)
	}
	return b.String()
}

func TestLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, a, b string
		want       []string // script lines, see script
	}{
		{name: "both empty", a: "", b: "", want: nil},
		{name: "insert into empty", a: "", b: "x\ny", want: []string{`+0,1 "x\n"`, `+0,2 "y"`}},
		{name: "delete all", a: "x\ny\n", b: "", want: []string{`-1,0 "x\n"`, `-2,0 "y\n"`}},
		{name: "same", a: "x\ny\n", b: "x\ny\n", want: []string{` 1,1 "x\n"`, ` 2,2 "y\n"`}},
		{name: "delete middle", a: "a\nb\nc\n", b: "a\nc\n", want: []string{` 1,1 "a\n"`, `-2,0 "b\n"`, ` 3,2 "c\n"`}},
		{name: "insert middle", a: "a\nc\n", b: "a\nb\nc\n", want: []string{` 1,1 "a\n"`, `+0,2 "b\n"`, ` 2,3 "c\n"`}},
		{name: "change puts delete first", a: "a\nx\nb\n", b: "a\ny\nb\n",
			want: []string{` 1,1 "a\n"`, `-2,0 "x\n"`, `+0,2 "y\n"`, ` 3,3 "b\n"`}},
		{name: "newline added at end", a: "a\nb", b: "a\nb\n", want: []string{` 1,1 "a\n"`, `-2,0 "b"`, `+0,2 "b\n"`}},
		{name: "newline removed at end", a: "a\n", b: "a", want: []string{`-1,0 "a\n"`, `+0,1 "a"`}},
		{name: "only newlines", a: "\n\n", b: "\n\n\n", want: []string{` 1,1 "\n"`, ` 2,2 "\n"`, `+0,3 "\n"`}},
		{name: "CRLF kept", a: "a\r\nb\r\n", b: "a\r\nc\r\n", want: []string{` 1,1 "a\r\n"`, `-2,0 "b\r\n"`, `+0,2 "c\r\n"`}},
		{name: "CRLF to LF differs", a: "a\r\n", b: "a\n", want: []string{`-1,0 "a\r\n"`, `+0,1 "a\n"`}},
		{name: "lone CR is not a break", a: "a\rb\n", b: "a\rc\n", want: []string{`-1,0 "a\rb\n"`, `+0,1 "a\rc\n"`}},
		{name: "move", a: "1\n2\n3\n4\n", b: "2\n3\n4\n1\n",
			want: []string{`-1,0 "1\n"`, ` 2,1 "2\n"`, ` 3,2 "3\n"`, ` 4,3 "4\n"`, `+0,4 "1\n"`}},
	}
	for _, tt := range tests {
		got := Lines(tt.a, tt.b)
		want := ""
		for _, l := range tt.want {
			want += l + "\n"
		}
		if script(got) != want {
			t.Errorf("%s: Lines(%q, %q) =\n%s\nwant\n%s", tt.name, tt.a, tt.b, script(got), want)
		}
		checkScript(t, tt.a, tt.b, got)
	}
}

// checkScript fails the test unless ops turn a into b exactly, with
// consecutive line numbers and Equal lines that are equal.
func checkScript(t *testing.T, a, b string, ops []Op) {
	t.Helper()
	al, bl := splitLines(a), splitLines(b)
	var gotA, gotB strings.Builder
	na, nb := 0, 0
	for i, op := range ops {
		switch op.Kind {
		case Equal:
			na, nb = na+1, nb+1
			if op.A != na || op.B != nb || al[na-1] != op.Text || bl[nb-1] != op.Text {
				t.Fatalf("Lines(%q, %q): op %d %+v: not line %d of a and %d of b, or they differ", a, b, i, op, na, nb)
			}
			gotA.WriteString(op.Text)
			gotB.WriteString(op.Text)
		case Delete:
			na++
			if op.A != na || op.B != 0 || al[na-1] != op.Text {
				t.Fatalf("Lines(%q, %q): op %d %+v is not line %d of a", a, b, i, op, na)
			}
			gotA.WriteString(op.Text)
		case Insert:
			nb++
			if op.B != nb || op.A != 0 || bl[nb-1] != op.Text {
				t.Fatalf("Lines(%q, %q): op %d %+v is not line %d of b", a, b, i, op, nb)
			}
			gotB.WriteString(op.Text)
		default:
			t.Fatalf("Lines(%q, %q): op %d has kind %v", a, b, i, op.Kind)
		}
		if i > 0 && op.Kind == Delete && ops[i-1].Kind == Insert {
			t.Fatalf("Lines(%q, %q): op %d is a delete after an insert", a, b, i)
		}
	}
	if gotA.String() != a || gotB.String() != b {
		t.Fatalf("Lines(%q, %q) rebuilds %q and %q", a, b, gotA.String(), gotB.String())
	}
}

// shortest returns the cost of a shortest script between a's and b's lines,
// by the textbook dynamic programme for the longest common subsequence.
func shortest(a, b string) int {
	al, bl := splitLines(a), splitLines(b)
	prev, cur := make([]int, len(bl)+1), make([]int, len(bl)+1)
	for i := range al {
		for j := range bl {
			if al[i] == bl[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return len(al) + len(bl) - 2*prev[len(bl)]
}

func changes(ops []Op) int {
	n := 0
	for _, op := range ops {
		if op.Kind != Equal {
			n++
		}
	}
	return n
}

// randomText returns up to n lines drawn from an alphabet of k, so that
// lines repeat often.
func randomText(r *rand.Rand, n, k int) string {
	var b strings.Builder
	for range r.IntN(n + 1) {
		fmt.Fprintf(&b, "%c\n", 'a'+r.IntN(k))
	}
	s := b.String()
	if s != "" && r.IntN(4) == 0 {
		s = s[:len(s)-1]
	}
	return s
}

func TestLinesShortest(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 1))
	for i := range 3000 {
		n, k := 1+i%40, 2+i%5
		a, b := randomText(r, n, k), randomText(r, n, k)
		if i%3 == 0 { // b an edit of a, as revisions are
			b = editText(r, a)
		}
		ops := Lines(a, b)
		checkScript(t, a, b, ops)
		if got, want := changes(ops), shortest(a, b); got != want {
			t.Fatalf("Lines(%q, %q) has %d changes, the shortest has %d:\n%s", a, b, got, want, script(ops))
		}
	}
}

// editText changes a few lines of s.
func editText(r *rand.Rand, s string) string {
	lines := splitLines(s)
	for range r.IntN(4) {
		i := r.IntN(len(lines) + 1)
		switch r.IntN(3) {
		case 0:
			lines = append(lines[:i], append([]string{"new\n"}, lines[i:]...)...)
		case 1:
			if i < len(lines) {
				lines = append(lines[:i], lines[i+1:]...)
			}
		case 2:
			if i < len(lines) {
				lines[i] = "changed\n"
			}
		}
	}
	return strings.Join(lines, "")
}

func numbered(n int, f func(i int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(f(i))
	}
	return b.String()
}

func TestLinesPastMaxCost(t *testing.T) {
	t.Parallel()
	const n = 3 * MaxCost
	tests := []struct {
		name        string
		a, b        string
		wantChanges int // -1: only check the script
	}{
		{
			// Unique lines anchor the coarse diff, so it is still the
			// shortest.
			name:        "every other line changed",
			a:           numbered(n, func(i int) string { return fmt.Sprintf("line %d\n", i) }),
			b:           numbered(n, func(i int) string { return fmt.Sprintf("line %d%s\n", i, strings.Repeat("'", i%2)) }),
			wantChanges: n,
		},
		{
			name:        "nothing in common",
			a:           strings.Repeat("x\n", n),
			b:           strings.Repeat("y\n", n),
			wantChanges: 2 * n,
		},
		{
			// No line is unique, so past MaxCost all is replaced.
			name:        "repeating lines",
			a:           numbered(n, func(i int) string { return fmt.Sprintf("%d\n", i*7%3) }),
			b:           numbered(n, func(i int) string { return fmt.Sprintf("%d\n", i*5%4) }),
			wantChanges: -1,
		},
		{
			name:        "big rewrite between equal ends",
			a:           "head\n" + numbered(n, func(i int) string { return fmt.Sprintf("old %d\n", i%10) }) + "tail",
			b:           "head\n" + numbered(n, func(i int) string { return fmt.Sprintf("new %d\n", i%10) }) + "tail",
			wantChanges: 2 * n,
		},
	}
	for _, tt := range tests {
		ops := Lines(tt.a, tt.b)
		checkScript(t, tt.a, tt.b, ops)
		if got := changes(ops); tt.wantChanges >= 0 && got != tt.wantChanges {
			t.Errorf("%s: %d changes, want %d", tt.name, got, tt.wantChanges)
		}
		if again := Lines(tt.a, tt.b); script(again) != script(ops) {
			t.Errorf("%s: a second Lines call gives another script", tt.name)
		}
	}
}

// TestLinesBudget diffs the largest texts a pipeline revision may have,
// with no line in common between the halves that differ, so that the
// search runs out of budget and the script is built coarsely.
func TestLinesBudget(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	a := numbered(1<<16, func(int) string { return fmt.Sprintf("%c\n", 'a'+r.IntN(2)) })
	b := numbered(1<<16, func(int) string { return fmt.Sprintf("%c\n", 'a'+r.IntN(2)) })
	ops := Lines(a, b)
	checkScript(t, a, b, ops)
}

// TestLinesCoarse reaches the coarse paths with small texts by lowering
// the bounds: the script must stay exact whatever they are.
func TestLinesCoarse(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		a := randomText(r, 30, 3+i%20)
		b := editText(r, a)
		if i%2 == 0 {
			b = randomText(r, 30, 3+i%20)
		}
		maxCost, budget := i%7, []int{0, 1, 10, 100, 1000, workBudget}[i%6]
		ops := lines(a, b, maxCost, budget)
		checkScript(t, a, b, ops)
		if again := lines(a, b, maxCost, budget); script(again) != script(ops) {
			t.Fatalf("lines(%q, %q, %d, %d) differs from one call to the next", a, b, maxCost, budget)
		}
	}
	// With no budget, all between the common ends is replaced.
	ops := lines("a\nb\nc\nd\ne\n", "a\nc\nb\ne\n", MaxCost, 0)
	if got, want := script(ops), script([]Op{
		{Equal, 1, 1, "a\n"}, {Delete, 2, 0, "b\n"}, {Delete, 3, 0, "c\n"}, {Delete, 4, 0, "d\n"},
		{Insert, 0, 2, "c\n"}, {Insert, 0, 3, "b\n"}, {Equal, 5, 4, "e\n"},
	}); got != want {
		t.Errorf("with no budget:\n%s\nwant\n%s", got, want)
	}
	// Past the cost bound, unique lines still anchor the script.
	ops = lines("u\nx\nv\ny\nw\n", "u\nX\nv\nY\nw\n", 1, workBudget)
	if got, want := changes(ops), 4; got != want {
		t.Errorf("anchored on unique lines: %d changes, want %d:\n%s", got, want, script(ops))
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[Kind]string{Equal: "equal", Delete: "delete", Insert: "insert", 7: "Kind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

func BenchmarkLines(b *testing.B) {
	old := numbered(20000, func(i int) string { return fmt.Sprintf("  step_%d: run something --flag=%d\n", i, i%17) })
	r := rand.New(rand.NewPCG(1, 2))
	lines := splitLines(old)
	for range 500 {
		lines[r.IntN(len(lines))] = "edited\n"
	}
	new := strings.Join(lines, "")
	b.SetBytes(int64(len(old) + len(new)))
	for b.Loop() {
		Lines(old, new)
	}
}
