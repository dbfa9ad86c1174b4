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
