package docker

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

func TestLineWriter(t *testing.T) {
	t.Parallel()
	const t1, t2 = "2024-05-01T10:00:00.000000001Z", "2024-05-01T10:00:01.5Z"
	long := strings.Repeat("x", maxLine+10)
	tests := []struct {
		name   string
		writes []string // one per frame
		want   []string
		// partial are the pieces marked Partial; nil means none.
		partial []bool
	}{
		{"one line", []string{t1 + " hello\n"}, []string{"hello"}, nil},
		{"empty line", []string{t1 + " \n"}, []string{""}, nil},
		{"spaces kept", []string{t1 + "  two  spaces \n"}, []string{" two  spaces "}, nil},
		{"partial messages join", []string{t1 + " abc", t2 + " def", t2 + " ghi\n"}, []string{"abcdefghi"}, nil},
		{"no final newline", []string{t1 + " tail"}, []string{"tail"}, nil},
		{"long line split", []string{t1 + " " + long + "\n"}, []string{long[:maxLine], "xxxxxxxxxx"}, []bool{true, false}},
		{"long line in messages", []string{t1 + " " + long[:maxLine-5], t2 + " " + long[:maxLine] + "\n"}, []string{long[:maxLine], long[:maxLine-5]}, []bool{true, false}},
		{"two long pieces", []string{t1 + " " + long + long + "\n"}, []string{long[:maxLine], long[:maxLine], "x" + strings.Repeat("x", 19)}, []bool{true, true, false}},
		{"long line without newline", []string{t1 + " " + long}, []string{long[:maxLine], "xxxxxxxxxx"}, []bool{true, false}},
		{"exactly one piece", []string{t1 + " " + long[:maxLine] + "\n"}, []string{long[:maxLine]}, nil},
		{"no timestamp", []string{"plain\n"}, []string{"plain"}, nil},
		{"two lines in one frame", []string{t1 + " a\n" + t2 + " b\n"}, []string{"a", "b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []executor.LogLine
			w := &lineWriter{stream: "stderr", fn: func(l executor.LogLine) { got = append(got, l) }}
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			w.flush()
			var texts []string
			var partial []bool
			for _, l := range got {
				texts = append(texts, l.Text)
				partial = append(partial, l.Partial)
				if l.Stream != "stderr" || l.Time.IsZero() {
					t.Errorf("line %q: stream %q, time %v", l.Text, l.Stream, l.Time)
				}
			}
			if !slices.Equal(texts, tt.want) {
				t.Errorf("lines = %q, want %q", texts, tt.want)
			}
			wantPartial := tt.partial
			if wantPartial == nil {
				wantPartial = make([]bool, len(tt.want))
			}
			if !slices.Equal(partial, wantPartial) {
				t.Errorf("Partial = %v, want %v", partial, wantPartial)
			}
			if strings.HasPrefix(tt.writes[0], t1) && len(got) > 0 {
				if want, _ := time.Parse(time.RFC3339Nano, t1); !got[0].Time.Equal(want) {
					t.Errorf("time = %v, want %v", got[0].Time, want)
				}
			}
		})
	}
}

// FuzzLineWriter feeds the writer frames as a step's output makes them:
// whatever they hold, no line is longer than maxLine or holds a newline,
// and no byte of text is made up.
func FuzzLineWriter(f *testing.F) {
	f.Add("2024-05-01T10:00:00.000000001Z hello\n", "2024-05-01T10:00:01Z world")
	f.Add("plain", "\n\n\n")
	f.Add(strings.Repeat("y", maxLine+3), "2024-05-01T10:00:00Z "+strings.Repeat("z", 2*maxLine)+"\nend\n")
	f.Add("2024-05-01T10:00:00Z", " \n")
	f.Fuzz(func(t *testing.T, a, b string) {
		var total int
		w := &lineWriter{stream: "stdout", fn: func(l executor.LogLine) {
			if len(l.Text) > maxLine {
				t.Errorf("line of %d bytes, over %d", len(l.Text), maxLine)
			}
			if strings.Contains(l.Text, "\n") {
				t.Errorf("line %q holds a newline", l.Text)
			}
			if l.Partial && len(l.Text) != maxLine {
				t.Errorf("partial line of %d bytes, want %d", len(l.Text), maxLine)
			}
			total += len(l.Text)
		}}
		for _, s := range []string{a, b} {
			if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		w.flush()
		if total > len(a)+len(b) {
			t.Errorf("%d bytes of lines from %d bytes of frames", total, len(a)+len(b))
		}
	})
}
