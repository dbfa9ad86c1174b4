package ansi

import (
	"strings"
	"unicode/utf8"
)

const (
	esc = 0x1b
	bel = 0x07
	can = 0x18
	sub = 0x1a
)

// renderer writes the text of a line, and in HTML mode the spans for the
// attributes in force, into out.
type renderer struct {
	out  strings.Builder
	html bool
	cur  attrs // set by the SGR sequences read so far
	open attrs // those of the open span; the zero value when none is open
}

func render(line string, html bool) string {
	r := renderer{html: html}
	r.out.Grow(len(line) + len(line)/4)
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == esc:
			i = r.escape(line, i)
		case c < utf8.RuneSelf:
			r.writeByte(c)
			i++
		default:
			ru, size := utf8.DecodeRuneInString(line[i:])
			r.writeRune(ru)
			i += size
		}
	}
	r.sync(attrs{})
	return r.out.String()
}

// escape skips the escape sequence that starts with the ESC at line[i],
// applying it if it is an SGR sequence, and returns the index after it. A
// sequence broken by a byte it cannot hold ends before that byte, which is
// then read as text or as the start of the next sequence.
func (r *renderer) escape(line string, i int) int {
	if i+1 == len(line) {
		return i + 1
	}
	switch b := line[i+1]; {
	case b == '[':
		return r.csi(line, i+2)
	case b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_':
		return skipString(line, i+2)
	case b >= 0x20 && b <= 0x2f: // intermediates, then a final byte: ESC ( B
		j := i + 1
		for j < len(line) && line[j] >= 0x20 && line[j] <= 0x2f {
			j++
		}
		if j < len(line) && line[j] >= 0x30 && line[j] <= 0x7e {
			j++
		}
		return j
	case b >= 0x30 && b <= 0x7e: // ESC 7, ESC =, ESC M, ESC c …
		return i + 2
	default: // a lone ESC
		return i + 1
	}
}

// csi skips a control sequence whose parameters start at line[start] and
// applies it if it is SGR: only digits, ';' and ':' before a final 'm'.
func (r *renderer) csi(line string, start int) int {
	j := start
	plain := true
	for j < len(line) && line[j] >= 0x20 && line[j] <= 0x3f {
		if c := line[j]; c != ';' && c != ':' && (c < '0' || c > '9') {
			plain = false
		}
		j++
	}
	if j == len(line) || line[j] < 0x40 || line[j] > 0x7e {
		return j
	}
	if line[j] == 'm' && plain {
		r.cur = r.cur.apply(line[start:j])
	}
	return j + 1
}

// skipString skips the body of an OSC, DCS, SOS, PM or APC string starting
// at line[j], and its terminator: BEL, ST (ESC \ or U+009C), or CAN or SUB,
// which cancel it. Another ESC ends it and starts the next sequence.
func skipString(line string, j int) int {
	for ; j < len(line); j++ {
		switch line[j] {
		case bel, can, sub:
			return j + 1
		case esc:
			if j+1 < len(line) && line[j+1] == '\\' {
				return j + 2
			}
			return j
		case 0xc2:
			if j+1 < len(line) && line[j+1] == 0x9c {
				return j + 2
			}
		}
	}
	return j
}

func (r *renderer) writeByte(c byte) {
	r.sync(r.cur)
	switch {
	case c < 0x20 && c != '\t' || c == 0x7f:
		r.out.WriteString(`\x`)
		r.out.WriteByte(hexDigit[c>>4])
		r.out.WriteByte(hexDigit[c&0xf])
	case !r.html:
		r.out.WriteByte(c)
	case c == '&':
		r.out.WriteString("&amp;")
	case c == '<':
		r.out.WriteString("&lt;")
	case c == '>':
		r.out.WriteString("&gt;")
	case c == '"':
		r.out.WriteString("&#34;")
	case c == '\'':
		r.out.WriteString("&#39;")
	default:
		r.out.WriteByte(c)
	}
}

// writeRune writes a non-ASCII rune; utf8.RuneError stands for an invalid
// byte as well as for a real U+FFFD, and both are written as U+FFFD.
func (r *renderer) writeRune(ru rune) {
	r.sync(r.cur)
	if ru >= 0x80 && ru <= 0x9f || ru >= 0x202a && ru <= 0x202e || ru >= 0x2066 && ru <= 0x2069 {
		r.out.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			r.out.WriteByte(hexDigit[ru>>shift&0xf])
		}
		return
	}
	r.out.WriteRune(ru)
}

const hexDigit = "0123456789abcdef"

// sync makes the open span match want before text is written, closing the
// open one and opening another if they differ. Spans are opened only for
// text, so none is empty.
func (r *renderer) sync(want attrs) {
	if !r.html || want == r.open {
		return
	}
	if r.open != (attrs{}) {
		r.out.WriteString("</span>")
	}
	if want != (attrs{}) {
		r.out.WriteString(`<span class="`)
		want.writeClasses(&r.out)
		r.out.WriteString(`">`)
	}
	r.open = want
}
