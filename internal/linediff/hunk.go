package linediff

// Hunk is a group of changes and the equal lines around them, as in a
// unified diff.
type Hunk struct {
	// Ops shares its array with the script given to [Hunks].
	Ops []Op
	// OldStart, OldLines, NewStart and NewLines are the ranges of a
	// unified diff's hunk header, "@@ -OldStart,OldLines +NewStart,NewLines
	// @@": a start is the 1-based number of the range's first line, or,
	// for an empty range, of the line before it (0 at the top).
	OldStart, OldLines, NewStart, NewLines int
}

// Hunks groups the changes of an edit script from [Lines] into hunks, each
// with up to context equal lines before and after its changes. Changes
// that are at most 2·context equal lines apart share a hunk. A script with
// no changes has no hunks; a negative context counts as 0.
func Hunks(ops []Op, context int) []Hunk {
	context = max(context, 0)
	var hunks []Hunk
	oldSeen, newSeen := 0, 0 // lines of each text before ops[counted]
	counted := 0
	for i := 0; i < len(ops); {
		if ops[i].Kind == Equal {
			i++
			continue
		}
		start := max(i-context, 0)
		// Extend past every change that follows within 2·context equal
		// lines of the last one.
		end, equal := i+1, 0
		for j := i + 1; j < len(ops) && equal <= 2*context; j++ {
			if ops[j].Kind == Equal {
				equal++
			} else {
				end, equal = j+1, 0
			}
		}
		stop := min(end+context, len(ops))

		for ; counted < start; counted++ {
			oldSeen, newSeen = advance(ops[counted].Kind, oldSeen, newSeen)
		}
		h := Hunk{Ops: ops[start:stop:stop]}
		oldEnd, newEnd := oldSeen, newSeen
		for _, op := range h.Ops {
			oldEnd, newEnd = advance(op.Kind, oldEnd, newEnd)
		}
		h.OldStart, h.OldLines = rangeStart(oldSeen, oldEnd), oldEnd-oldSeen
		h.NewStart, h.NewLines = rangeStart(newSeen, newEnd), newEnd-newSeen
		hunks = append(hunks, h)
		i = stop
	}
	return hunks
}

// advance counts one op's line in the texts it is in.
func advance(k Kind, old, new int) (int, int) {
	if k != Insert {
		old++
	}
	if k != Delete {
		new++
	}
	return old, new
}

func rangeStart(before, end int) int {
	if end == before {
		return before
	}
	return before + 1
}
