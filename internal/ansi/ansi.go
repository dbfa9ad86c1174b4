// Package ansi renders one line of a step's log, which may hold anything a
// container prints, as text or as HTML that is safe to put in a page served
// under a strict Content-Security-Policy.
//
// [HTML] turns SGR colour and style sequences into span elements whose only
// attribute is a class from a fixed set (see [Classes]); it never writes a
// style attribute or any other element. Every other escape sequence (other
// CSI sequences, OSC strings such as titles and OSC 8 links, DCS, SOS, PM and
// APC strings, two-byte and charset escapes, a lone ESC) is removed whole,
// parameters included; a sequence cut short by the end of the line is removed
// up to the end. Control characters other than tab are shown as visible
// escapes: C0 controls and DEL as \x07, C1 controls as \u009b, and the
// Unicode bidirectional embedding, override and isolate controls
// (U+202A–U+202E, U+2066–U+2069), which could make the rest of a line read
// differently from what it holds, as \u202e. Invalid UTF-8 becomes U+FFFD,
// one per bad byte. A literal backslash is not escaped, so a printed "\x07"
// and a BEL look alike: the output is for reading, not for decoding.
//
// [Strip] gives the same text with no markup at all, for search and download.
// The text content of HTML(line) is always Strip(line).
//
// The classes are:
//
//	a-fg0 … a-fg15   foreground: SGR 30–37 are 0–7, 90–97 are 8–15
//	a-bg0 … a-bg15   background: SGR 40–47 are 0–7, 100–107 are 8–15
//	a-b              bold (SGR 1)
//	a-d              dim (SGR 2)
//	a-i              italic (SGR 3)
//	a-u              underline (SGR 4)
//
// SGR 0 resets everything, 22 bold and dim, 23 italic, 24 underline, 39 the
// foreground and 49 the background. 256-colour (38;5;N, 48;5;N) and
// true-colour (38;2;R;G;B, 48;2;R;G;B, and the colon forms) sequences map
// to the nearest of the 16 colours of xterm's default palette; an index or
// component out of range drops that colour only. Other SGR attributes
// (blink, inverse, strike, fonts, underline colour …) are ignored.
//
// The work is linear in the length of the line, and the output at most a
// constant times as long: spans never nest; when the attributes change, the
// open span is closed and a new one opened before the next text.
package ansi

import "html/template"

// HTML renders line as HTML: text escaped, colours and styles as balanced,
// unnested span elements with classes from [Classes]. The line should not
// hold its line terminator: a trailing "\r" or "\n" is shown as an escape.
func HTML(line string) template.HTML {
	// Safe: render escapes all text and adds only fixed span markup.
	return template.HTML(render(line, true))
}

// Strip returns line without any escape sequence, its control characters
// and invalid UTF-8 replaced as [HTML] does, so that it equals the text
// content of HTML(line).
func Strip(line string) string {
	return render(line, false)
}

// Classes returns every class [HTML] can write, for styling them.
func Classes() []string {
	classes := make([]string, 0, 2*len(colourClasses)+len(flagClasses))
	for i := range colourClasses {
		classes = append(classes, colourClasses[i].fg)
	}
	for i := range colourClasses {
		classes = append(classes, colourClasses[i].bg)
	}
	return append(classes, flagClasses[:]...)
}
