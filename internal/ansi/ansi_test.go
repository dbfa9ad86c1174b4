package ansi

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

type renderCase struct {
	name  string
	in    string
	html  string
	strip string // "" means the same as html, for cases with no markup or escaping
}

var textCases = []renderCase{
	{name: "plain", in: "hello, world", html: "hello, world"},
	{name: "empty", in: "", html: ""},
	{name: "unicode", in: "日本語 ✓ ünïcode", html: "日本語 ✓ ünïcode"},
	{name: "html special", in: `<script>alert("x")</script> & 'y'`,
		html:  `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;y&#39;`,
		strip: `<script>alert("x")</script> & 'y'`},
	{name: "entity stays text", in: "&amp;", html: "&amp;amp;", strip: "&amp;"},
	{name: "tab kept", in: "a\tb", html: "a\tb"},
	{name: "C0 controls", in: "\x00\x01\x07\x08\x0b\x0d\x0a\x1f\x7f", html: `\x00\x01\x07\x08\x0b\x0d\x0a\x1f\x7f`},
	{name: "carriage return", in: "50%\r100%", html: `50%\x0d100%`},
	{name: "C1 controls", in: "\u0085a\u009b31mb\u009f", html: `\u0085a\u009b31mb\u009f`},
	{name: "bidi controls", in: "a\u202eb\u2066c\u2069\u202a", html: `a\u202eb\u2066c\u2069\u202a`},
	{name: "invalid UTF-8", in: "a\xffb\xe2\x82c\xc0\xafd", html: "a\uFFFDb\uFFFD\uFFFDc\uFFFD\uFFFDd"},
	{name: "real U+FFFD", in: "\uFFFD", html: "\uFFFD"},
	{name: "literal backslash", in: `\x07`, html: `\x07`},
}

var sgrCases = []renderCase{
	{name: "red then reset", in: "\x1b[31mred\x1b[0m plain", html: `<span class="a-fg1">red</span> plain`, strip: "red plain"},
	{name: "each normal fg", in: "\x1b[30ma\x1b[37mb", html: `<span class="a-fg0">a</span><span class="a-fg7">b</span>`, strip: "ab"},
	{name: "bright fg", in: "\x1b[90ma\x1b[97mb", html: `<span class="a-fg8">a</span><span class="a-fg15">b</span>`, strip: "ab"},
	{name: "bg", in: "\x1b[40ma\x1b[47mb\x1b[100mc\x1b[107md",
		html:  `<span class="a-bg0">a</span><span class="a-bg7">b</span><span class="a-bg8">c</span><span class="a-bg15">d</span>`,
		strip: "abcd"},
	{name: "flags", in: "\x1b[1ma\x1b[0;2mb\x1b[0;3mc\x1b[0;4md",
		html:  `<span class="a-b">a</span><span class="a-d">b</span><span class="a-i">c</span><span class="a-u">d</span>`,
		strip: "abcd"},
	{name: "all at once", in: "\x1b[4;3;2;1;41;32mx", html: `<span class="a-fg2 a-bg1 a-b a-d a-i a-u">x</span>`, strip: "x"},
	{name: "change closes and reopens", in: "\x1b[31ma\x1b[1mb\x1b[39mc",
		html:  `<span class="a-fg1">a</span><span class="a-fg1 a-b">b</span><span class="a-b">c</span>`,
		strip: "abc"},
	{name: "unterminated closes at end", in: "\x1b[31mred", html: `<span class="a-fg1">red</span>`, strip: "red"},
	{name: "no empty span", in: "\x1b[31m\x1b[0mx\x1b[32m", html: "x"},
	{name: "same attrs one span", in: "\x1b[31ma\x1b[31mb\x1b[mc", html: `<span class="a-fg1">ab</span>c`, strip: "abc"},
	{name: "empty params reset", in: "\x1b[1ma\x1b[mb", html: `<span class="a-b">a</span>b`, strip: "ab"},
	{name: "empty field is 0", in: "\x1b[31m\x1b[;1mx", html: `<span class="a-b">x</span>`, strip: "x"},
	{name: "22 resets bold and dim", in: "\x1b[1;2;3mx\x1b[22my", html: `<span class="a-b a-d a-i">x</span><span class="a-i">y</span>`, strip: "xy"},
	{name: "23 resets italic", in: "\x1b[3;4mx\x1b[23my", html: `<span class="a-i a-u">x</span><span class="a-u">y</span>`, strip: "xy"},
	{name: "24 resets underline", in: "\x1b[4;1mx\x1b[24my", html: `<span class="a-b a-u">x</span><span class="a-b">y</span>`, strip: "xy"},
	{name: "39 and 49", in: "\x1b[31;42mx\x1b[39my\x1b[49mz", html: `<span class="a-fg1 a-bg2">x</span><span class="a-bg2">y</span>z`, strip: "xyz"},
	{name: "4:0 clears underline", in: "\x1b[4mx\x1b[4:0my", html: `<span class="a-u">x</span>y`, strip: "xy"},
	{name: "4:3 curly is underline", in: "\x1b[4:3mx", html: `<span class="a-u">x</span>`, strip: "x"},
	{name: "ignored attributes", in: "\x1b[5;7;8;9;53mx", html: "x"},
	{name: "huge number", in: "\x1b[99999999999999999999999931mx", html: "x"},

	{name: "256 low index", in: "\x1b[38;5;9mx\x1b[48;5;0my", html: `<span class="a-fg9">x</span><span class="a-fg9 a-bg0">y</span>`, strip: "xy"},
	{name: "256 cube red", in: "\x1b[38;5;196mx", html: `<span class="a-fg9">x</span>`, strip: "x"},
	{name: "256 cube blue bg", in: "\x1b[48;5;21mx", html: `<span class="a-bg4">x</span>`, strip: "x"},
	{name: "256 grey", in: "\x1b[38;5;244mx", html: `<span class="a-fg8">x</span>`, strip: "x"},
	{name: "256 white", in: "\x1b[38;5;231mx", html: `<span class="a-fg15">x</span>`, strip: "x"},
	{name: "256 out of range dropped", in: "\x1b[38;5;256mx", html: "x"},
	{name: "256 out of range keeps the rest", in: "\x1b[38;5;300;1mx", html: `<span class="a-b">x</span>`, strip: "x"},
	{name: "256 missing index", in: "\x1b[38;5mx", html: "x"},
	{name: "256 colon", in: "\x1b[38:5:4mx", html: `<span class="a-fg4">x</span>`, strip: "x"},
	{name: "true colour", in: "\x1b[38;2;255;0;0mx\x1b[48;2;0;0;0my",
		html:  `<span class="a-fg9">x</span><span class="a-fg9 a-bg0">y</span>`,
		strip: "xy"},
	{name: "true colour near", in: "\x1b[38;2;200;10;5mx", html: `<span class="a-fg1">x</span>`, strip: "x"},
	{name: "true colour out of range keeps the rest", in: "\x1b[38;2;256;0;0;4mx", html: `<span class="a-u">x</span>`, strip: "x"},
	{name: "true colour short", in: "\x1b[38;2;1;2mx", html: "x"},
	{name: "true colour colon", in: "\x1b[38:2:0:205:0mx", html: `<span class="a-fg2">x</span>`, strip: "x"},
	{name: "true colour colon with space id", in: "\x1b[48:2::0:205:205mx", html: `<span class="a-bg6">x</span>`, strip: "x"},
	{name: "colon too many", in: "\x1b[38:2:1:2:3:4:5mx", html: "x"},
	{name: "unknown selector", in: "\x1b[38;7;1mx", html: `<span class="a-b">x</span>`, strip: "x"},
	{name: "underline colour args are not attributes", in: "\x1b[58;5;4mx\x1b[58;2;1;2;3;1my", html: `x<span class="a-b">y</span>`, strip: "xy"},
	{name: "text escaped in span", in: "\x1b[31m<b>&", html: `<span class="a-fg1">&lt;b&gt;&amp;</span>`, strip: "<b>&"},
	{name: "control in span", in: "\x1b[31m\x07", html: `<span class="a-fg1">\x07</span>`, strip: `\x07`},
}

var escapeCases = []renderCase{
	{name: "other CSI", in: "\x1b[2Jx\x1b[10;20Hy\x1b[Kz\x1b[3A", html: "xyz"},
	{name: "private CSI is not SGR", in: "\x1b[?1mx\x1b[>4;2my\x1b[?25l", html: "xy"},
	{name: "CSI with intermediate", in: "\x1b[1 qx\x1b[0\"pz", html: "xz"},
	{name: "CSI intermediate before m is not SGR", in: "\x1b[1 mx", html: "x"},
	{name: "CSI cut at end", in: "x\x1b[31", html: "x"},
	{name: "CSI bare at end", in: "x\x1b[", html: "x"},
	{name: "CSI broken by control", in: "\x1b[31\x07x", html: `\x07x`},
	{name: "CSI broken by ESC", in: "\x1b[31\x1b[1mx", html: `<span class="a-b">x</span>`, strip: "x"},
	{name: "CSI broken by non-ASCII", in: "\x1b[31éx", html: "éx"},
	{name: "OSC title BEL", in: "\x1b]0;my title\x07text", html: "text"},
	{name: "OSC title ST", in: "\x1b]2;my title\x1b\\text", html: "text"},
	{name: "OSC 8-bit ST", in: "\x1b]2;t\u009ctext", html: "text"},
	{name: "OSC 8 link", in: "\x1b]8;;https://evil.example/?a=<b>\x1b\\click\x1b]8;;\x1b\\", html: "click"},
	{name: "OSC unterminated", in: "a\x1b]0;rest of the line", html: "a"},
	{name: "OSC ended by next escape", in: "\x1b]0;t\x1b[31mx", html: `<span class="a-fg1">x</span>`, strip: "x"},
	{name: "OSC cancelled", in: "\x1b]0;t\x18x\x1b]0;u\x1ay", html: "xy"},
	{name: "OSC holds controls and bad UTF-8", in: "\x1b]0;\x00\xff\u009b\x1b\\x", html: "x"},
	{name: "DCS", in: "\x1bPq#0;2;0;0;0#0~~\x1b\\x", html: "x"},
	{name: "SOS PM APC", in: "\x1bXsos\x1b\\a\x1b^pm\x1b\\b\x1b_Gi=1;AAAA\x1b\\c", html: "abc"},
	{name: "two-byte escapes", in: "\x1b7x\x1b8y\x1bMz\x1bc\x1b=", html: "xyz"},
	{name: "charset escapes", in: "\x1b(Bx\x1b#8y\x1b%Gz", html: "xyz"},
	{name: "intermediate cut", in: "x\x1b(", html: "x"},
	{name: "intermediate then control", in: "\x1b(\x07x", html: `\x07x`},
	{name: "lone ESC at end", in: "x\x1b", html: "x"},
	{name: "ESC before control", in: "\x1b\x07x", html: `\x07x`},
	{name: "ESC before non-ASCII", in: "\x1bé", html: "é"},
	{name: "ESC before DEL", in: "\x1b\x7fx", html: `\x7fx`},
	{name: "ESC ESC", in: "\x1b\x1b[31mx", html: `<span class="a-fg1">x</span>`, strip: "x"},
}

func TestHTML(t *testing.T) {
	t.Parallel()
	for _, set := range [][]renderCase{textCases, sgrCases, escapeCases} {
		for _, tc := range set {
			if got := string(HTML(tc.in)); got != tc.html {
				t.Errorf("%s: HTML(%q)\n got %q\nwant %q", tc.name, tc.in, got, tc.html)
			}
		}
	}
}

func TestStrip(t *testing.T) {
	t.Parallel()
	for _, set := range [][]renderCase{textCases, sgrCases, escapeCases} {
		for _, tc := range set {
			want := tc.strip
			if want == "" {
				want = tc.html
			}
			if got := Strip(tc.in); got != want {
				t.Errorf("%s: Strip(%q)\n got %q\nwant %q", tc.name, tc.in, got, want)
			}
		}
	}
}

func TestClasses(t *testing.T) {
	t.Parallel()
	got := Classes()
	if len(got) != 36 {
		t.Fatalf("Classes() has %d entries, want 36: %q", len(got), got)
	}
	for i := range 16 {
		for _, prefix := range []string{"a-fg", "a-bg"} {
			if want := prefix + strconv.Itoa(i); !slices.Contains(got, want) {
				t.Errorf("Classes() lacks %q", want)
			}
		}
	}
	for _, want := range []string{"a-b", "a-d", "a-i", "a-u"} {
		if !slices.Contains(got, want) {
			t.Errorf("Classes() lacks %q", want)
		}
	}
	got[0] = "changed"
	if Classes()[0] == "changed" {
		t.Error("Classes() returns a slice its caller can change for others")
	}
}

// TestClassesCoverOutput checks that every class HTML writes is listed, by
// rendering every code that sets one.
func TestClassesCoverOutput(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, code := range []int{1, 2, 3, 4, 30, 31, 32, 33, 34, 35, 36, 37, 40, 41, 42, 43, 44, 45, 46, 47,
		90, 91, 92, 93, 94, 95, 96, 97, 100, 101, 102, 103, 104, 105, 106, 107} {
		out := string(HTML("\x1b[" + strconv.Itoa(code) + "mx"))
		class, ok := strings.CutPrefix(out, `<span class="`)
		class, _, _ = strings.Cut(class, `"`)
		if !ok || !slices.Contains(Classes(), class) {
			t.Errorf("SGR %d renders %q, not a span with a listed class", code, out)
		}
		seen[class] = true
	}
	if len(seen) != len(Classes()) {
		t.Errorf("the SGR codes reach %d classes, Classes() lists %d", len(seen), len(Classes()))
	}
}

func BenchmarkHTML(b *testing.B) {
	line := strings.Repeat("\x1b[1;32mok\x1b[0m   github.com/baton-dev/baton/internal/engine\t0.412s <done> ", 20)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		HTML(line)
	}
}
