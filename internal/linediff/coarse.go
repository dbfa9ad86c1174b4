package linediff

import "sort"

// coarse marks a script between a[alo:ahi] and b[blo:bhi] that is found
// without searching for a shortest one. While the work budget lasts it
// keeps, as equal, the longest run in order of lines that occur once in
// each part, and diffs the gaps between them again; without such lines, or
// without budget, it deletes all of the old part and inserts all of the
// new.
func (d *differ) coarse(alo, ahi, blo, bhi int) {
	if d.budget -= (ahi - alo) + (bhi - blo); d.budget >= 0 {
		if anchors := d.anchors(alo, ahi, blo, bhi); len(anchors) > 0 {
			for _, an := range anchors {
				d.compare(alo, an.x, blo, an.y)
				alo, blo = an.x+1, an.y+1
			}
			d.compare(alo, ahi, blo, bhi)
			return
		}
	}
	mark(d.delA[alo:ahi])
	mark(d.insB[blo:bhi])
}

// anchor is a line a[x] == b[y].
type anchor struct{ x, y int }

// anchors returns the longest list of lines that occur exactly once in
// a[alo:ahi] and once in b[blo:bhi] and come in the same order in both,
// ordered by x; ties go to the earliest lines.
func (d *differ) anchors(alo, ahi, blo, bhi int) []anchor {
	type seen struct{ inA, inB, y int }
	count := make(map[int32]*seen, ahi-alo)
	for x := alo; x < ahi; x++ {
		if s := count[d.a[x]]; s != nil {
			s.inA++
		} else {
			count[d.a[x]] = &seen{inA: 1}
		}
	}
	for y := blo; y < bhi; y++ {
		if s := count[d.b[y]]; s != nil {
			s.inB++
			s.y = y
		}
	}
	var unique []anchor
	for x := alo; x < ahi; x++ {
		if s := count[d.a[x]]; s.inA == 1 && s.inB == 1 {
			unique = append(unique, anchor{x, s.y})
		}
	}
	return increasing(unique)
}

// increasing returns the longest subsequence of pairs, ordered by x, whose
// y increase too (patience sorting, O(n log n)).
func increasing(pairs []anchor) []anchor {
	if len(pairs) == 0 {
		return nil
	}
	// tails[i] is the index in pairs of the smallest last y of an
	// increasing run of length i+1; prev links each pair to the one before
	// it in its run.
	tails := make([]int, 0, len(pairs))
	prev := make([]int, len(pairs))
	for i, p := range pairs {
		j := sort.Search(len(tails), func(j int) bool { return pairs[tails[j]].y >= p.y })
		if j > 0 {
			prev[i] = tails[j-1]
		} else {
			prev[i] = -1
		}
		if j == len(tails) {
			tails = append(tails, i)
		} else {
			tails[j] = i
		}
	}
	run := make([]anchor, len(tails))
	for i, j := len(run)-1, tails[len(tails)-1]; i >= 0; i, j = i-1, prev[j] {
		run[i] = pairs[j]
	}
	return run
}
