package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// writeSplit writes in through a Writer in pieces cut at the given offsets.
func writeSplit(t testing.TB, m *Masker, in string, cuts ...int) string {
	t.Helper()
	var out bytes.Buffer
	w := m.Writer(&out)
	prev := 0
	for _, c := range append(cuts, len(in)) {
		if n, err := w.Write([]byte(in[prev:c])); n != c-prev || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		prev = c
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.String()
}

func writerCases() (*Masker, []string) {
	m := New(secret, "hunter22", "abab", "supersecret", "secret")
	return m, []string{
		"",
		"no secret here\n",
		"login " + secret + " ok\n",
		"a=" + base64.StdEncoding.EncodeToString([]byte(secret)) + "&b=hunter22\n",
		"xx" + base64.StdEncoding.EncodeToString([]byte("\x00"+secret+"\x00")) + "yy",
		"hunter2hunter22hunter222",
		"ababababab-abab",
		"supersecretsecret and secre",
		"hunter22",
	}
}

// A Writer masks the same as String, however the text is split into writes.
func TestWriterSplits(t *testing.T) {
	t.Parallel()
	m, cases := writerCases()
	for _, in := range cases {
		want := m.String(in)
		for i := 0; i <= len(in); i++ {
			if got := writeSplit(t, m, in, i); got != want {
				t.Fatalf("write %q then %q: got %q, want %q", in[:i], in[i:], got, want)
			}
			for j := i; j <= len(in); j++ {
				if got := writeSplit(t, m, in, i, j); got != want {
					t.Fatalf("write %q, %q, %q: got %q, want %q", in[:i], in[i:j], in[j:], got, want)
				}
			}
		}
		cuts := make([]int, len(in))
		for i := range cuts {
			cuts[i] = i
		}
		if got := writeSplit(t, m, in, cuts...); got != want {
			t.Fatalf("write %q byte by byte: got %q, want %q", in, got, want)
		}
	}
}

// A Writer passes on what cannot begin a secret without waiting for Close.
func TestWriterHoldsBackLittle(t *testing.T) {
	t.Parallel()
	m := New("hunter22")
	var out bytes.Buffer
	w := m.Writer(&out)
	w.Write([]byte("line one\nhunt"))
	if got := out.String(); got != "line one\n" {
		t.Fatalf("after a write ending in a secret's prefix: passed on %q, want %q", got, "line one\n")
	}
	w.Write([]byte("er22 done"))
	if got := out.String(); got != "line one\n*** done" {
		t.Fatalf("passed on %q", got)
	}
	longest := 0
	for _, f := range forms("hunter22") {
		longest = max(longest, len(f))
	}
	if m.hold >= longest {
		t.Fatalf("hold = %d, want less than the longest form (%d)", m.hold, longest)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("disk full")
}

func TestWriterErrors(t *testing.T) {
	t.Parallel()
	fw := &failWriter{}
	w := New("hunter22").Writer(fw)
	if _, err := w.Write([]byte("hello\n")); err == nil {
		t.Fatal("Write hid the underlying error")
	}
	if _, err := w.Write([]byte("again\n")); err == nil || fw.n != 1 {
		t.Fatalf("second Write: err %v after %d underlying writes; want the first error again", err, fw.n)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close hid the underlying error")
	}

	var out bytes.Buffer
	w = New().Writer(&out)
	w.Write([]byte("a"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("b")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if out.String() != "a" {
		t.Fatalf("wrote %q", out.String())
	}
}

func TestWriterLargeWrite(t *testing.T) {
	t.Parallel()
	m := New("hunter22")
	in := strings.Repeat("some log text hunter22 more text\n", 1<<15)
	if got, want := writeSplit(t, m, in, len(in)/3), m.String(in); got != want {
		t.Fatal("a large write masked differently from String")
	}
}

// A secret cut by the 64 KiB boundary of a log piece is masked, in every
// form and at every offset of the cut: pieces of a long line reach the
// Writer as separate writes.
func TestWriterSecretAcrossPieces(t *testing.T) {
	t.Parallel()
	const piece = 64 << 10
	s := longSecret(40)
	m := New(s)
	for _, form := range []string{
		s,
		base64.StdEncoding.EncodeToString([]byte(s)),
		strings.ToUpper(hex.EncodeToString([]byte(s))),
		percentEncode([]byte(s), func(byte) bool { return false }),
	} {
		for k := 0; k <= len(form); k++ {
			in := strings.Repeat("x", piece-k) + form + strings.Repeat("y", piece)
			want := strings.Repeat("x", piece-k) + Replacement + strings.Repeat("y", piece)
			if got := writeSplit(t, m, in, piece, 2*piece); got != want {
				t.Fatalf("form %q cut after %d bytes: got %d bytes with %d replacements, want one replacement", form, k, len(got), strings.Count(got, Replacement))
			}
		}
	}
}
