package linediff

// differ finds which lines of a to delete and of b to insert. a and b hold
// line numbers from intern; delA and insB are the marks.
type differ struct {
	a, b       []int32
	delA, insB []bool
	maxCost    int     // MaxCost, but for tests
	budget     int     // steps left before every part is diffed coarsely
	vf, vb     []int32 // scratch for middleSnake
}

// compare marks the lines of a[alo:ahi] and b[blo:bhi] that a shortest
// script between them deletes and inserts, or a longer one if that costs
// too much to find.
func (d *differ) compare(alo, ahi, blo, bhi int) {
	for alo < ahi && blo < bhi && d.a[alo] == d.b[blo] {
		alo, blo = alo+1, blo+1
	}
	for alo < ahi && blo < bhi && d.a[ahi-1] == d.b[bhi-1] {
		ahi, bhi = ahi-1, bhi-1
	}
	switch {
	case alo == ahi:
		mark(d.insB[blo:bhi])
	case blo == bhi:
		mark(d.delA[alo:ahi])
	default:
		x0, y0, x1, y1, ok := d.middleSnake(alo, ahi, blo, bhi)
		// A snake at a corner would leave the whole problem to one
		// side; the search never returns one once the ends are trimmed,
		// but the guard keeps the recursion finite whatever happens.
		if !ok || x0 == ahi && y0 == bhi || x1 == alo && y1 == blo {
			d.coarse(alo, ahi, blo, bhi)
			return
		}
		d.compare(alo, x0, blo, y0)
		d.compare(x1, ahi, y1, bhi)
	}
}

func mark(marks []bool) {
	for i := range marks {
		marks[i] = true
	}
}

// middleSnake finds the middle snake of a shortest script between
// a[alo:ahi] and b[blo:bhi], searching from both ends at once (Myers 1986,
// section 4b), and returns the run of equal lines it is made of:
// a[x0:x1] == b[y0:y1]. A script of cost D splits there into two of cost at
// most ⌈D/2⌉. It returns ok false if the cost passes MaxCost or the work
// budget runs out. Both texts must be non-empty, and their first lines and
// their last lines must differ.
//
// The search keeps, for each diagonal k = x - y, the furthest x reached
// with the number of edits so far, forward in vf and backward (counting
// from the ends) in vb; -1 marks a diagonal no path reaches. Moves that
// would leave the edit graph are not taken.
func (d *differ) middleSnake(alo, ahi, blo, bhi int) (x0, y0, x1, y1 int, ok bool) {
	n, m := ahi-alo, bhi-blo
	delta := n - m
	odd := delta&1 != 0
	limit := min((n+m+1)/2, d.maxCost/2)
	off := limit + 1 // index of diagonal 0
	if size := 2*limit + 3; len(d.vf) < size {
		d.vf, d.vb = make([]int32, size), make([]int32, size)
	}
	vf, vb := d.vf, d.vb
	a, b := d.a[alo:ahi], d.b[blo:bhi]

	for cost := 0; cost <= limit; cost++ {
		if d.budget -= 2*cost + 1; d.budget < 0 {
			return 0, 0, 0, 0, false
		}
		for k := -cost; k <= cost; k += 2 {
			x := furthest(vf, off, k, cost, n, m)
			if x < 0 {
				continue
			}
			sx := x
			for x < n && x-k < m && a[x] == b[x-k] {
				x++
			}
			d.budget -= x - sx
			vf[off+k] = int32(x)
			// Odd delta: a forward path of cost 2·cost-1 meets a
			// backward one of cost-1 on the diagonal that mirrors k.
			if kr := delta - k; odd && kr >= -(cost-1) && kr <= cost-1 {
				if xr := int(vb[off+kr]); xr >= 0 && x+xr >= n {
					return alo + sx, blo + sx - k, alo + x, blo + x - k, true
				}
			}
		}
		for kr := -cost; kr <= cost; kr += 2 {
			xr := furthest(vb, off, kr, cost, n, m)
			if xr < 0 {
				continue
			}
			sxr := xr
			for xr < n && xr-kr < m && a[n-1-xr] == b[m-1-(xr-kr)] {
				xr++
			}
			d.budget -= xr - sxr
			vb[off+kr] = int32(xr)
			if k := delta - kr; !odd && k >= -cost && k <= cost {
				if x := int(vf[off+k]); x >= 0 && x+xr >= n {
					return alo + n - xr, blo + m - (xr - kr), alo + n - sxr, blo + m - (sxr - kr), true
				}
			}
		}
	}
	return 0, 0, 0, 0, false
}

// furthest returns the furthest x on diagonal k that one more edit reaches
// from the paths in v of cost-1 edits, before following equal lines, or -1
// if none does within the n×m edit graph.
func furthest(v []int32, off, k, cost, n, m int) int {
	if k < -m || k > n {
		v[off+k] = -1
		return -1
	}
	if cost == 0 {
		return 0
	}
	x := -1
	if k < cost { // down from diagonal k+1: an insert
		if up := int(v[off+k+1]); up >= 0 && up-k <= m {
			x = up
		}
	}
	if k > -cost { // right from diagonal k-1: a delete
		if left := int(v[off+k-1]); left >= 0 && left+1 <= n && left+1 > x {
			x = left + 1
		}
	}
	if x < 0 {
		v[off+k] = -1
	}
	return x
}
