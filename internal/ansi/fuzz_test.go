package ansi

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// FuzzHTML checks, for any line, that HTML's output parses as HTML to
// nothing but text and unnested, non-empty span elements whose one
// attribute is a class from Classes, that its text is Strip's, and that
// neither grows more than a constant times the input.
func FuzzHTML(f *testing.F) {
	for _, set := range [][]renderCase{textCases, sgrCases, escapeCases} {
		for _, tc := range set {
			f.Add(tc.in)
		}
	}
	f.Add("\x1b[1;31m<img src=x onerror=alert(1)>\x1b[0m\x1b]8;;javascript:alert(1)\x07x\x1b]8;;\x07")
	f.Add("\x1b[38;5;1;48;2;1;2;3;4;58:2::1:2:3mx\x1b[m\"'&<>\x00\u009b\xff")
	f.Fuzz(func(t *testing.T, line string) {
		out := string(HTML(line))
		stripped := Strip(line)
		if !utf8.ValidString(out) || !utf8.ValidString(stripped) {
			t.Fatalf("HTML(%q) = %q, Strip = %q: not valid UTF-8", line, out, stripped)
		}
		text := checkMarkup(t, line, out)
		if text != stripped {
			t.Fatalf("HTML(%q) = %q has text %q, Strip = %q", line, out, text, stripped)
		}
		// The longest span tags cost 51 bytes and need at least a 3-byte
		// SGR sequence and a byte of text; a byte of text becomes at most
		// 6 (\u009b from 2 bytes, &#39; from 1).
		if len(out) > 16*len(line) || len(stripped) > 4*len(line) {
			t.Fatalf("HTML(%q) is %d bytes and Strip %d, for %d of input", line, len(out), len(stripped), len(line))
		}
		for _, c := range stripped {
			if c < 0x20 && c != '\t' || c >= 0x7f && c <= 0x9f || c == esc {
				t.Fatalf("Strip(%q) = %q holds control character %U", line, stripped, c)
			}
		}
	})
}

// checkMarkup parses out, the rendering of line, as HTML, fails the test
// unless it holds only what HTML may write, and returns its text.
func checkMarkup(t *testing.T, line, out string) string {
	t.Helper()
	classes := Classes()
	var text strings.Builder
	z := html.NewTokenizer(strings.NewReader(out))
	depth, spanText := 0, false
	for {
		tt := z.Next()
		tok := z.Token()
		switch tt {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				t.Fatalf("HTML(%q) = %q: %v", line, out, z.Err())
			}
			if depth != 0 {
				t.Fatalf("HTML(%q) = %q leaves a span open", line, out)
			}
			return text.String()
		case html.TextToken:
			text.WriteString(tok.Data)
			spanText = true
		case html.StartTagToken:
			if tok.Data != "span" || len(tok.Attr) != 1 || tok.Attr[0].Key != "class" || tok.Attr[0].Namespace != "" {
				t.Fatalf("HTML(%q) = %q holds a tag other than <span class>: %s", line, out, tok)
			}
			for class := range strings.SplitSeq(tok.Attr[0].Val, " ") {
				if !slices.Contains(classes, class) {
					t.Fatalf("HTML(%q) = %q holds class %q", line, out, class)
				}
			}
			if depth++; depth > 1 {
				t.Fatalf("HTML(%q) = %q nests spans", line, out)
			}
			spanText = false
		case html.EndTagToken:
			if tok.Data != "span" || depth == 0 {
				t.Fatalf("HTML(%q) = %q holds an end tag with no start: %s", line, out, tok)
			}
			if !spanText {
				t.Fatalf("HTML(%q) = %q holds an empty span", line, out)
			}
			depth--
		default:
			t.Fatalf("HTML(%q) = %q holds %v %s", line, out, tt, tok)
		}
	}
}
