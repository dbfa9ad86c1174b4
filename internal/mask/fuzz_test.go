package mask

import (
	"strings"
	"testing"
)

func FuzzMask(f *testing.F) {
	f.Add("hunter22", "login hunter22 ok", 3)
	f.Add("abab", "abababab", 1)
	f.Add("secret-value", "c2VjcmV0LXZhbHVl", 5)
	f.Add("\x00\xff\xfe\x01", "\x00\xff\xfe\x00\xff\xfe\x01", 4)
	f.Fuzz(func(t *testing.T, secret, text string, cut int) {
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
		if len(text) > 0 {
			cut = (cut%len(text) + len(text)) % len(text)
		} else {
			cut = 0
		}
		if got := writeSplit(t, m, text, cut); got != out {
			t.Fatalf("Writer split at %d = %q, String = %q", cut, got, out)
		}
	})
}
