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
	}{
		{"one line", []string{t1 + " hello\n"}, []string{"hello"}},
		{"empty line", []string{t1 + " \n"}, []string{""}},
		{"spaces kept", []string{t1 + "  two  spaces \n"}, []string{" two  spaces "}},
		{"partial messages join", []string{t1 + " abc", t2 + " def", t2 + " ghi\n"}, []string{"abcdefghi"}},
		{"no final newline", []string{t1 + " tail"}, []string{"tail"}},
		{"long line split", []string{t1 + " " + long + "\n"}, []string{long[:maxLine], "xxxxxxxxxx"}},
		{"no timestamp", []string{"plain\n"}, []string{"plain"}},
		{"two lines in one frame", []string{t1 + " a\n" + t2 + " b\n"}, []string{"a", "b"}},
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
			for _, l := range got {
				texts = append(texts, l.Text)
				if l.Stream != "stderr" || l.Time.IsZero() {
					t.Errorf("line %q: stream %q, time %v", l.Text, l.Stream, l.Time)
				}
			}
			if !slices.Equal(texts, tt.want) {
				t.Errorf("lines = %q, want %q", texts, tt.want)
			}
			if strings.HasPrefix(tt.writes[0], t1) && len(got) > 0 {
				if want, _ := time.Parse(time.RFC3339Nano, t1); !got[0].Time.Equal(want) {
					t.Errorf("time = %v, want %v", got[0].Time, want)
				}
			}
		})
	}
}
