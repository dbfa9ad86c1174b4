package mask

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func FuzzMask(f *testing.F) {
	f.Add("hunter22", "login hunter22 ok", 3, 9)
	f.Add("abab", "abababab", 1, 2)
	f.Add("secret-value", "c2VjcmV0LXZhbHVl", 5, 0)
	f.Add("\x00\xff\xfe\x01", "\x00\xff\xfe\x00\xff\xfe\x01", 4, 5)
	f.Add("p&ss w", "%70%26%73%73%20%77 P%26SS", 7, 11)
	f.Add("hunter22", "68756E746572323200 68 75 6e 74 65 72 32 32", 12, 30)
	f.Fuzz(func(t *testing.T, secret, text string, cut1, cut2 int) {
		// A secret holding the replacement's '*' can be rebuilt from it, as
		// documented.
		if len(secret) < MinLen || strings.Contains(secret, "*") {
			return
		}
		m := New(secret)
		out := m.String(text)
		if strings.Contains(out, secret) {
			t.Fatalf("String(%q) = %q still holds the secret %q", text, out, secret)
		}
		if m.Contains(out) {
			t.Fatalf("String(%q) = %q still holds a form of the secret %q", text, out, secret)
		}
		if m.Contains(text) != (out != text) {
			t.Fatalf("Contains(%q) = %v but String = %q", text, m.Contains(text), out)
		}
		c1, c2 := cutAt(cut1, len(text)), cutAt(cut2, len(text))
		if got := writeSplit(t, m, text, min(c1, c2), max(c1, c2)); got != out {
			t.Fatalf("Writer split at %d and %d = %q, String = %q", c1, c2, got, out)
		}
	})
}

// cutAt maps any int to an offset in [0, n].
func cutAt(c, n int) int {
	if n == 0 {
		return 0
	}
	return (c%(n+1) + n + 1) % (n + 1)
}

// FuzzEncodings checks that every line of the encodings a step is likely to
// print of a secret is masked, in a line of its own, in a multi-line value
// and through a Writer, leaving only what is documented.
func FuzzEncodings(f *testing.F) {
	f.Add("hunter22", false, 3)
	f.Add(strings.Repeat("0123456789", 6), true, 100)
	f.Add("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----\n", true, 17)
	f.Add("p\xe4ss\x00w\xffrd-1234", false, 8)
	f.Fuzz(func(t *testing.T, secret string, newline bool, cut int) {
		if len(secret) < MinLen || len(secret) > maxURLFormLen || strings.Contains(secret, "*") {
			return
		}
		m := New(secret)
		data := []byte(secret)
		if newline {
			data = append(data, '\n')
		}
		b64 := base64.StdEncoding.EncodeToString(data)
		hx := hex.EncodeToString(data)
		for _, c := range []struct {
			name  string
			lines []string
			chars string
			leak  int // what a masked line may keep; see TestStringRealEncoders
		}{
			{"base64", wrap(b64, 76), base64Chars, 10},
			{"openssl base64", wrap(b64, 64), base64Chars, 10},
			{"base64 -w0", []string{b64}, base64Chars, 4},
			{"xxd -p", wrap(hx, 60), hexChars, 12},
			{"xxd -p -u", wrap(strings.ToUpper(hx), 60), hexChars, 12},
			{"od -An -tx1", odLines(data), hexChars, 12},
			{"every byte %XX", []string{percentEncode([]byte(secret), func(byte) bool { return false })}, hexChars + "%", 0},
		} {
			for _, line := range c.lines {
				got := m.Line(line)
				if v := longestRun(strings.ReplaceAll(got, " ", ""), c.chars); v > c.leak {
					t.Fatalf("%s of %q: Line(%q) = %q keeps %d characters", c.name, data, line, got, v)
				}
			}
			value := strings.Join(c.lines, "\n")
			masked := m.String(value)
			if masked == value || !m.Contains(value) || m.Contains(masked) {
				t.Fatalf("%s of %q: String(%q) = %q, Contains = %v", c.name, data, value, masked, m.Contains(value))
			}
			at := cutAt(cut, len(value))
			if got := writeSplit(t, m, value, at); got != masked {
				t.Fatalf("%s of %q: Writer split at %d = %q, String = %q", c.name, data, at, got, masked)
			}
		}
	})
}

// odLines returns what od -An -tx1 prints of data.
func odLines(data []byte) []string {
	var lines []string
	for i := 0; i < len(data); i += dumpLine {
		lines = append(lines, " "+groupedHex(data[i:min(i+dumpLine, len(data))], 1))
	}
	return lines
}
