// Package mask replaces secret values in text a step prints or returns,
// including their common encodings.
package mask

import "strings"

// Replacement is what masked text shows in place of a secret. Overlapping or
// adjacent secrets collapse into one Replacement.
const Replacement = "***"

// MinLen is the shortest secret value masked. Masking a value such as "a" or
// "no" would rewrite every occurrence of it in the logs and make them
// useless, while hiding almost nothing: a 3-byte value can be guessed. See
// [Masker.Skipped].
const MinLen = 4

// Masker finds secret values in text and replaces them with [Replacement].
// Besides the raw value it finds the forms a step is likely to print:
//
//   - hex in lower and upper case, each line of `xxd -p` (60 digits a
//     line), and the space-separated bytes of od -An -tx1 and hexdump -C;
//   - standard and URL base64, with and without padding, and each line of
//     it as base64 (76 characters a line) and openssl base64 (64) print the
//     value, with or without a newline after it;
//   - percent-encoding: url.QueryEscape, url.PathEscape, RFC 3986 (curl,
//     jq @uri, Python's quote), JavaScript's encodeURIComponent and every
//     byte as %XX, each with upper- and lower-case hex digits;
//   - the content of a JSON string, with and without HTML escaping, and
//     with every non-ASCII character escaped (Python's json.dumps);
//   - for values of 6 bytes or more, the part of their base64 that is the
//     same wherever they sit in a larger base64-encoded stream (see below).
//
// A line of a wrapped encoding, or a group of a hex dump, that spells fewer
// than 6 bytes of the secret (the last line, often) is not masked on its
// own: it is too short to tell from ordinary text. Lines are cut where an
// encoder of the value on its own cuts them; a secret inside a larger
// wrapped stream is masked only where a line holds all of it.
//
// A secret inside a larger base64 stream is encoded differently at each of
// the three offsets it can take within a 3-byte group, and the characters at
// its edges mix in bits of its neighbours. For each offset the Masker masks
// the characters that depend on the secret alone; one or two characters at
// each end stay visible, holding at most 4 bits of the secret each.
//
// [Masker.Contains] finds exactly what [Masker.String] masks, so an output
// refused for carrying a secret and a masked log line agree.
//
// A secret that contains [Replacement] can sometimes be rebuilt from the
// replacement and the text beside it; no real secret should look like that.
//
// A Masker is safe for concurrent use.
type Masker struct {
	a       *automaton // nil: nothing to mask
	hold    int        // the most bytes a [Writer] holds back
	skipped int
}

// New returns a Masker for the given secret values. Values shorter than
// [MinLen] bytes are not masked, and are counted by [Masker.Skipped] so the
// caller can warn about them; empty values are ignored.
//
// New's time and memory grow with the secrets' total length: a few hundred
// bytes per byte of secret, as every form is indexed. Build one Masker per
// run, not per line.
func New(secrets ...string) *Masker {
	m := &Masker{}
	var patterns []string
	seen := map[string]bool{}
	for _, s := range secrets {
		switch {
		case s == "" || seen[s]:
			continue
		case len(s) < MinLen:
			m.skipped++
		default:
			patterns = append(patterns, forms(s)...)
		}
		seen[s] = true
	}
	if len(patterns) > 0 {
		m.a = newAutomaton(patterns)
		m.hold = m.a.maxHold()
	}
	return m
}

// Skipped returns how many distinct non-empty values were too short to mask
// (shorter than [MinLen]).
func (m *Masker) Skipped() int { return m.skipped }

// String returns s with every secret form replaced.
func (m *Masker) String(s string) string {
	if m.a == nil {
		return s
	}
	var spans []span
	st := int32(0)
	for i := 0; i < len(s); i++ {
		if st == 0 {
			st = m.a.root[s[i]]
		} else {
			st = m.a.step(st, s[i])
		}
		if n := m.a.match[st]; n > 0 {
			spans = addSpan(spans, i+1-int(n), i+1)
		}
	}
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for _, sp := range spans {
		b.WriteString(s[pos:sp.start])
		b.WriteString(Replacement)
		pos = sp.end
	}
	b.WriteString(s[pos:])
	return b.String()
}

// Line masks one line of output; it is [Masker.String] under the name log
// code reads best with. A secret split across lines is not found: mask a
// stream with [Masker.Writer] instead.
func (m *Masker) Line(s string) string { return m.String(s) }

// Contains reports whether s holds any secret form, for refusing outputs
// that would carry a secret.
func (m *Masker) Contains(s string) bool {
	if m.a == nil {
		return false
	}
	st := int32(0)
	for i := 0; i < len(s); i++ {
		if st == 0 {
			st = m.a.root[s[i]]
		} else {
			st = m.a.step(st, s[i])
		}
		if m.a.match[st] > 0 {
			return true
		}
	}
	return false
}

// span is a half-open byte range to mask.
type span struct{ start, end int }

// addSpan adds [start, end) to spans, which are sorted, disjoint and not
// adjacent, and whose ends are at most end: matches are found in order of
// their end.
func addSpan(spans []span, start, end int) []span {
	for len(spans) > 0 && spans[len(spans)-1].end >= start {
		start = min(start, spans[len(spans)-1].start)
		spans = spans[:len(spans)-1]
	}
	return append(spans, span{start, end})
}
