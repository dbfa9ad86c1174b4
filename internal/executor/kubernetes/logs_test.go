package kubernetes

import (
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

// TestLineWriter: however the stream is cut into writes, the same lines
// come out, each with its timestamp, long ones in pieces.
func TestLineWriter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	ts := t0.Format("2006-01-02T15:04:05.000000000Z07:00")
	long := strings.Repeat("ab", maxLine) // two pieces exactly
	exact := strings.Repeat("e", maxLine)
	stream := ts + " first\n" +
		ts + " \n" + // an empty line
		ts + " has  spaces \r\n" +
		ts + " " + long + "\n" +
		ts + " " + exact + "\n" +
		"no timestamp here\n" +
		ts + " unterminated"
	want := []executor.LogLine{
		{Time: t0, Text: "first"},
		{Time: t0, Text: ""},
		{Time: t0, Text: "has  spaces \r"},
		{Time: t0, Text: long[:maxLine], Partial: true},
		{Time: t0, Text: long[maxLine:]},
		{Time: t0, Text: exact},
		{Text: "no timestamp here"},
		{Time: t0, Text: "unterminated"},
	}
	for _, size := range []int{1, 2, 7, 31, 4096, maxLine - 1, maxLine + 1, len(stream)} {
		var got []executor.LogLine
		w := &lineWriter{stream: "stdout", fn: func(l executor.LogLine) { got = append(got, l) }}
		for p := stream; p != ""; {
			n := min(size, len(p))
			if _, err := w.Write([]byte(p[:n])); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		w.flush()
		if w.consumed != int64(len(stream)) {
			t.Errorf("writes of %d: consumed = %d, want %d", size, w.consumed, len(stream))
		}
		if len(got) != len(want) {
			t.Fatalf("writes of %d: %d lines, want %d", size, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			timeOK := g.Time.Equal(w.Time) || w.Time.IsZero() && !g.Time.IsZero()
			if g.Text != w.Text || g.Partial != w.Partial || g.Stream != "stdout" || !timeOK {
				t.Errorf("writes of %d: line %d = {%v %q… %d bytes, partial %v}, want {%v %d bytes, partial %v}",
					size, i, g.Time, g.Text[:min(len(g.Text), 20)], len(g.Text), g.Partial, w.Time, len(w.Text), w.Partial)
			}
		}
	}
}

// FuzzLineWriter: a log stream is the step's output behind the kubelet's
// timestamps. Whatever it holds and however it is cut into writes, the
// lines are the same, none is over maxLine, and no byte is made up.
func FuzzLineWriter(f *testing.F) {
	f.Add([]byte("2026-01-02T03:04:05.000000000Z hello\n2026-01-02T03:04:05.1Z  x\n"), 3)
	f.Add([]byte("no stamp\n\n\n2026-13-45T99:99:99Z bad\n"), 1)
	f.Add([]byte(strings.Repeat("z", 3*maxLine/2)+"\n"), 100)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		type line struct {
			text    string
			partial bool
		}
		read := func(size int) []line {
			var got []line
			w := &lineWriter{fn: func(l executor.LogLine) {
				if len(l.Text) > maxLine {
					t.Fatalf("line of %d bytes, over %d", len(l.Text), maxLine)
				}
				got = append(got, line{l.Text, l.Partial})
			}}
			for p := data; len(p) > 0; {
				n := min(max(size, 1), len(p))
				_, _ = w.Write(p[:n])
				p = p[n:]
			}
			w.flush()
			if w.consumed != int64(len(data)) {
				t.Fatalf("consumed %d of %d bytes", w.consumed, len(data))
			}
			return got
		}
		whole, pieces := read(len(data)), read(cut)
		if len(whole) != len(pieces) {
			t.Fatalf("%d lines whole, %d in writes of %d", len(whole), len(pieces), cut)
		}
		total := 0
		for i := range whole {
			if whole[i] != pieces[i] {
				t.Fatalf("line %d differs with writes of %d", i, cut)
			}
			total += len(whole[i].text)
		}
		if total > len(data) {
			t.Fatalf("%d bytes of text from %d of input", total, len(data))
		}
	})
}
