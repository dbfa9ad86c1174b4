package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// Error is one problem found in a pipeline file. [Parse] returns an *Error,
// or several joined with errors.Join; errors.As finds the first.
type Error struct {
	File  string
	Line  int    // 1-based; 0 when the problem is with the file as a whole
	Field string // path of the field, e.g. steps[1].timeout; "" for the whole document
	Msg   string // what is wrong and what to write instead
}

// Error formats the problem as file:line: field: message, the form editors
// and CI logs link to the line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// suggest returns the allowed word closest to word, or "" when none is close
// enough to be a likely typo. Letter case does not count.
func suggest(word string, allowed []string) string {
	best, bestDist := "", 3
	for _, a := range allowed {
		d := editDistance(strings.ToLower(word), strings.ToLower(a))
		if d < bestDist && d < len(a)/2+1 {
			best, bestDist = a, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b)) // too long to be a typo of a field name
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// list formats names for a message, sorted: "a, b and c".
func list(names []string) string {
	const show = 20
	names = slices.Sorted(slices.Values(names))
	switch {
	case len(names) == 0:
		return "none"
	case len(names) == 1:
		return names[0]
	case len(names) > show:
		return strings.Join(names[:show], ", ") + fmt.Sprintf(" and %d more", len(names)-show)
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
