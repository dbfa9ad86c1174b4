package ansi

import (
	"strconv"
	"strings"
)

// attrs is what SGR sequences have set. The zero value is the terminal's
// default: no span.
type attrs struct {
	fg, bg uint8 // a colour index plus one; 0 for the default colour
	flags  uint8 // bits: flagBold …
}

const (
	flagBold = 1 << iota
	flagDim
	flagItalic
	flagUnderline
)

var flagClasses = [...]string{"a-b", "a-d", "a-i", "a-u"}

var colourClasses = func() (c [16]struct{ fg, bg string }) {
	for i := range c {
		c[i].fg, c[i].bg = "a-fg"+strconv.Itoa(i), "a-bg"+strconv.Itoa(i)
	}
	return c
}()

// writeClasses writes the classes of a, separated by spaces, in a fixed
// order: foreground, background, then the flags.
func (a attrs) writeClasses(b *strings.Builder) {
	sep := ""
	if a.fg != 0 {
		b.WriteString(colourClasses[a.fg-1].fg)
		sep = " "
	}
	if a.bg != 0 {
		b.WriteString(sep)
		b.WriteString(colourClasses[a.bg-1].bg)
		sep = " "
	}
	for i, class := range flagClasses {
		if a.flags&(1<<i) != 0 {
			b.WriteString(sep)
			b.WriteString(class)
			sep = " "
		}
	}
}

// apply returns a changed by the parameters of one SGR sequence: fields
// separated by ';', each of which may hold sub-parameters separated by ':'.
// An empty field is 0.
func (a attrs) apply(params string) attrs {
	p := fields{rest: params, more: true}
	for p.more {
		field := p.next()
		code, subs, hasSubs := strings.Cut(field, ":")
		switch n := number(code); {
		case n == 0:
			a = attrs{}
		case n == 1:
			a.flags |= flagBold
		case n == 2:
			a.flags |= flagDim
		case n == 3:
			a.flags |= flagItalic
		case n == 4 && hasSubs && number(subs) == 0: // 4:0, no underline
			a.flags &^= flagUnderline
		case n == 4: // 4, or a style of underline: 4:3 is curly
			a.flags |= flagUnderline
		case n == 22:
			a.flags &^= flagBold | flagDim
		case n == 23:
			a.flags &^= flagItalic
		case n == 24:
			a.flags &^= flagUnderline
		case n >= 30 && n <= 37:
			a.fg = uint8(n-30) + 1
		case n == 39:
			a.fg = 0
		case n >= 40 && n <= 47:
			a.bg = uint8(n-40) + 1
		case n == 49:
			a.bg = 0
		case n >= 90 && n <= 97:
			a.fg = uint8(n-90+8) + 1
		case n >= 100 && n <= 107:
			a.bg = uint8(n-100+8) + 1
		case n == 38 || n == 48 || n == 58:
			// 58 (underline colour) has no class, but its arguments must
			// be read so that they are not taken for attributes.
			var c uint8
			if hasSubs {
				c = colonColour(subs)
			} else {
				c = p.colour()
			}
			if c != 0 && n == 38 {
				a.fg = c
			} else if c != 0 && n == 48 {
				a.bg = c
			}
		}
	}
	return a
}

// fields iterates over the ';'-separated fields of SGR parameters.
type fields struct {
	rest string
	more bool
}

func (p *fields) next() string {
	field, rest, more := strings.Cut(p.rest, ";")
	p.rest, p.more = rest, more
	return field
}

// colour reads the arguments of 38, 48 or 58 in their ';' form, "5;N" or
// "2;R;G;B", and returns the colour as in attrs, or 0 if it is invalid.
func (p *fields) colour() uint8 {
	if !p.more {
		return 0
	}
	switch number(p.next()) {
	case 5:
		if !p.more {
			return 0
		}
		return indexColour(number(p.next()))
	case 2:
		var rgb [3]int
		for i := range rgb {
			if !p.more {
				return 0
			}
			rgb[i] = number(p.next())
		}
		return rgbColour(rgb[0], rgb[1], rgb[2])
	}
	return 0
}

// colonColour reads the arguments of 38, 48 or 58 in their ':' form:
// "5:N", "2:R:G:B", or "2:ID:R:G:B" with a colour space ID, which is
// ignored.
func colonColour(subs string) uint8 {
	var v [5]int
	n := 0
	for more := true; more; n++ {
		if n == len(v) {
			return 0
		}
		var s string
		s, subs, more = strings.Cut(subs, ":")
		v[n] = number(s)
	}
	switch {
	case v[0] == 5 && n == 2:
		return indexColour(v[1])
	case v[0] == 2 && n == 4:
		return rgbColour(v[1], v[2], v[3])
	case v[0] == 2 && n == 5:
		return rgbColour(v[2], v[3], v[4])
	}
	return 0
}

// number parses a string of ASCII digits, saturating well above any value
// that matters; the empty string is 0.
func number(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		if n < 1<<20 {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n
}

// palette is xterm's default for the 16 colours, which the 256-colour and
// true-colour sequences are matched against.
var palette = [16][3]int{
	{0x00, 0x00, 0x00}, {0xcd, 0x00, 0x00}, {0x00, 0xcd, 0x00}, {0xcd, 0xcd, 0x00},
	{0x00, 0x00, 0xee}, {0xcd, 0x00, 0xcd}, {0x00, 0xcd, 0xcd}, {0xe5, 0xe5, 0xe5},
	{0x7f, 0x7f, 0x7f}, {0xff, 0x00, 0x00}, {0x00, 0xff, 0x00}, {0xff, 0xff, 0x00},
	{0x5c, 0x5c, 0xff}, {0xff, 0x00, 0xff}, {0x00, 0xff, 0xff}, {0xff, 0xff, 0xff},
}

// indexColour maps an index of the 256-colour palette to one of the 16
// (plus one, as in attrs), or 0 if it is out of range. 16–231 are a 6×6×6
// cube and 232–255 a ramp of greys.
func indexColour(n int) uint8 {
	switch {
	case n < 0 || n > 255:
		return 0
	case n < 16:
		return uint8(n) + 1
	case n < 232:
		n -= 16
		return rgbColour(cubeLevel(n/36), cubeLevel(n/6%6), cubeLevel(n%6))
	default:
		g := 8 + 10*(n-232)
		return rgbColour(g, g, g)
	}
}

func cubeLevel(i int) int {
	if i == 0 {
		return 0
	}
	return 55 + 40*i
}

// rgbColour returns the nearest of the 16 colours to r, g, b (plus one, as
// in attrs), or 0 if a component is out of range. Distance weighs green
// most and blue least, roughly as the eye does; a tie goes to the lower
// index.
func rgbColour(r, g, b int) uint8 {
	if r < 0 || r > 255 || g < 0 || g > 255 || b < 0 || b > 255 {
		return 0
	}
	best, bestDist := 0, -1
	for i, p := range palette {
		dr, dg, db := r-p[0], g-p[1], b-p[2]
		if d := 3*dr*dr + 4*dg*dg + 2*db*db; bestDist < 0 || d < bestDist {
			best, bestDist = i, d
		}
	}
	return uint8(best) + 1
}
