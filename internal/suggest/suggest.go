// Package suggest finds the known name a mistyped one most likely meant,
// for the "did you mean" of every error about an unknown command, flag,
// field, key, param or executor.
package suggest

import "strings"

// Closest returns the name of known closest to word, or "" when none is
// close enough to be a likely typo: at most two edits away, and fewer than
// half the name's length. Letter case does not count, and a known name
// that word begins (two letters or more) counts as one edit away.
func Closest(word string, known []string) string {
	best, bestDist := "", 3
	lw := strings.ToLower(word)
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(lw, lk)
		if len(lw) >= 2 && strings.HasPrefix(lk, lw) {
			d = min(d, 1)
		}
		if d < bestDist && d < len(k)/2+1 {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b)) // too long to be a typo of a name
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
