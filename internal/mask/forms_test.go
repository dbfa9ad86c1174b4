package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/testbin"
)

// longSecret returns n printable bytes that vary, as a key or token does.
func longSecret(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.~!$&"
	r := rand.New(rand.NewPCG(7, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

// wrap cuts s into lines of width characters, as base64 and xxd -p print.
func wrap(s string, width int) []string {
	var lines []string
	for len(s) > width {
		lines = append(lines, s[:width])
		s = s[width:]
	}
	return append(lines, s)
}

// longestRun returns the longest run of bytes of s in the set chars.
func longestRun(s, chars string) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(chars, s[i]) >= 0 {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

const (
	base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="
	hexChars    = "0123456789abcdefABCDEF"
)

// Each line of a wrapped encoding of a long secret is masked when lines are
// masked one by one, as stored logs are, and within one multi-line value,
// as outputs are checked. What may stay visible is the last line when it
// spells fewer than minFragmentBytes bytes, and the characters that mix in
// a newline after the value.
func TestStringWrappedEncodings(t *testing.T) {
	t.Parallel()
	for _, n := range []int{57, 58, 59, 60, 100, 200, 1700} {
		s := longSecret(n)
		m := New(s)
		for _, tail := range []string{"", "\n"} {
			data := []byte(s + tail)
			cases := []struct {
				name    string
				lines   []string
				chars   string
				visible int // the most data characters a masked line may keep
			}{
				{"base64", wrap(base64.StdEncoding.EncodeToString(data), 76), base64Chars, 8 + 3},
				{"openssl base64", wrap(base64.StdEncoding.EncodeToString(data), 64), base64Chars, 8 + 3},
				{"basenc --base64url", wrap(base64.URLEncoding.EncodeToString(data), 76), base64Chars, 8 + 3},
				{"xxd -p", wrap(hex.EncodeToString(data), 60), hexChars, 2*minFragmentBytes - 2 + 2},
				{"xxd -p -u", wrap(strings.ToUpper(hex.EncodeToString(data)), 60), hexChars, 2*minFragmentBytes - 2 + 2},
			}
			for _, c := range cases {
				for i, line := range c.lines {
					got := m.Line(line)
					if v := longestRun(got, c.chars); v > c.visible || i < len(c.lines)-1 && got != Replacement {
						t.Errorf("%d bytes%q, %s, line %d of %d: Line(%q) = %q", n, tail, c.name, i+1, len(c.lines), line, got)
					}
				}
				value := strings.Join(c.lines, "\n") + "\n"
				if !m.Contains(value) {
					t.Errorf("%d bytes%q, %s: Contains(the wrapped value) = false", n, tail, c.name)
				}
				if got := m.String(value); longestRun(got, c.chars) > c.visible {
					t.Errorf("%d bytes%q, %s: String(the wrapped value) = %q", n, tail, c.name, got)
				}
			}
		}
	}
}

// The dumps real encoders print of a secret are masked line by line. The
// programs are busybox's, and the host's where busybox lacks one; a missing
// host program skips its case.
func TestStringRealEncoders(t *testing.T) {
	t.Parallel()
	bb := testbin.Busybox(t)
	offset := regexp.MustCompile(`^[0-9a-f]{7,8}:? *`)
	for _, n := range []int{5, 16, 40, 200} {
		s := longSecret(n)
		m := New(s)
		for _, tc := range []struct {
			argv  []string
			chars string
			// leak is how many data characters a masked line may keep: a
			// last line that spells fewer than minFragmentBytes bytes, and
			// the characters that encode a trailing newline.
			leak int
		}{
			{[]string{bb, "base64"}, base64Chars, 10},
			{[]string{"base64"}, base64Chars, 10},
			{[]string{"base64", "-w0"}, base64Chars, 4},
			{[]string{"openssl", "base64"}, base64Chars, 10},
			{[]string{"basenc", "--base64url"}, base64Chars, 10},
			{[]string{bb, "xxd", "-p"}, hexChars, 12},
			{[]string{"xxd", "-p", "-u"}, hexChars, 12},
			{[]string{bb, "xxd"}, hexChars, 12},
			{[]string{bb, "od", "-An", "-tx1"}, hexChars, 12},
			{[]string{bb, "hexdump", "-C"}, hexChars, 12},
		} {
			if _, err := exec.LookPath(tc.argv[0]); err != nil {
				t.Logf("skip %s: %v", tc.argv[0], err)
				continue
			}
			for _, tail := range []string{"", "\n"} {
				cmd := exec.Command(tc.argv[0], tc.argv[1:]...)
				cmd.Stdin = strings.NewReader(s + tail)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%q: %v", tc.argv, err)
				}
				for line := range strings.Lines(string(out)) {
					line = strings.TrimSuffix(line, "\n")
					got := m.Line(line)
					// The offset column and the ASCII column of xxd and
					// hexdump -C are not hex of the secret.
					data := offset.ReplaceAllString(got, "")
					if slices.Equal(tc.argv[1:], []string{"xxd"}) || slices.Contains(tc.argv, "hexdump") {
						if i := strings.LastIndex(data, "  "); i >= 0 {
							data = data[:i]
						}
					}
					if v := longestRun(strings.ReplaceAll(data, " ", ""), tc.chars); v > tc.leak {
						t.Errorf("%d bytes%q: %q printed %q, masked to %q", n, tail, tc.argv, line, got)
					}
				}
			}
		}
	}
}

// Forms that only differ from the raw value for some bytes: JSON with
// non-ASCII escaped, as Python writes it.
func TestStringJSONASCII(t *testing.T) {
	t.Parallel()
	m := New("pässwörd-😀")
	for _, in := range []string{
		`{"password": "p\u00e4ssw\u00f6rd-\ud83d\ude00"}`,
		`{"password": "pässwörd-😀"}`,
	} {
		if got := m.String(in); got != `{"password": "***"}` {
			t.Errorf("String(%q) = %q", in, got)
		}
	}
}

// Derived fragments too short to tell from ordinary text are not masked: a
// line of base64 or hex that spells fewer than minFragmentBytes bytes of
// the secret, and the last line of a hex dump of fewer.
func TestStringShortFragmentsKept(t *testing.T) {
	t.Parallel()
	s := longSecret(58) // 58 bytes: the base64 is 76 characters and "xx==", hexdump's last line 10 bytes
	m := New(s)
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	last := enc[76:]
	if got := m.Line(last); got != last {
		t.Errorf("the 4-character last line of base64 %q was masked: %q", last, got)
	}
	h := hex.EncodeToString([]byte(s))
	for _, in := range []string{h[:10], h[len(h)-10:], groupedHex([]byte(s[56:]), 1)} {
		if got := m.Line(in); got != in {
			t.Errorf("hex of 5 or fewer bytes %q was masked: %q", in, got)
		}
	}
	for _, f := range forms(s) {
		if len(f) < 2*MinLen && f != s {
			t.Errorf("forms(%d bytes) has the short form %q", len(s), f)
		}
	}
}

// A wrapped encoding inside ordinary text does not make the Masker mask
// more than the encoding.
func TestStringWrappedInLog(t *testing.T) {
	t.Parallel()
	s := longSecret(200)
	m := New(s)
	var in, want bytes.Buffer
	for i, line := range wrap(base64.StdEncoding.EncodeToString([]byte(s)), 76) {
		in.WriteString("2024-05-01 step=b line=" + string(rune('0'+i)) + " " + line + " end\n")
		want.WriteString("2024-05-01 step=b line=" + string(rune('0'+i)) + " *** end\n")
	}
	if got := m.String(in.String()); got != want.String() {
		t.Errorf("String = %q, want %q", got, want.String())
	}
	if got := writeSplit(t, m, in.String(), in.Len()/2); got != want.String() {
		t.Errorf("Writer = %q, want %q", got, want.String())
	}
}
