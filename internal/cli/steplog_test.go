package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/suggest"
)

// TestPrefixWriter feeds the API's text log stream in pieces that cut lines
// anywhere and checks each line comes out once, after its step's name,
// without the time and stream words.
func TestPrefixWriter(t *testing.T) {
	stream := "2026-01-02T03:04:05.123Z stdout collecting rows\n" +
		"2026-01-02T03:04:05.124Z stderr to stderr too\n" +
		"2026-01-02T03:04:05.125Z stdout \n" +
		"garbled line\n" +
		"2026-01-02T03:04:05.126Z stdout no newline at the end"
	want := "collect | collecting rows\n" +
		"collect | to stderr too\n" +
		"collect | \n" +
		"collect | garbled line\n" +
		"collect | no newline at the end\n"
	for _, size := range []int{1, 2, 7, 64, len(stream)} {
		var out bytes.Buffer
		w := &prefixWriter{step: "collect", out: &stepLines{w: &out, width: 7}}
		for i := 0; i < len(stream); i += size {
			if _, err := w.Write([]byte(stream[i:min(i+size, len(stream))])); err != nil {
				t.Fatal(err)
			}
		}
		w.flush()
		if out.String() != want {
			t.Errorf("pieces of %d bytes: got\n%s\nwant\n%s", size, out.String(), want)
		}
	}
}

// FuzzPrefixWriter checks that whatever a step prints, and however the
// stream is cut, every line printed is one line, after its step's name,
// with no control character a terminal would act on.
func FuzzPrefixWriter(f *testing.F) {
	f.Add("2026-01-02T03:04:05Z stdout hello\n", 3)
	f.Add("x stdout \x1b[2J\x1b]0;title\x07\r\n", 1)
	f.Add("a b c\nd\n\n\n", 2)
	f.Add(strings.Repeat("z", 3000)+"\n", 1000)
	f.Fuzz(func(t *testing.T, stream string, size int) {
		if size <= 0 || size > len(stream)+1 {
			size = len(stream) + 1
		}
		var out bytes.Buffer
		w := &prefixWriter{step: "s", out: &stepLines{w: &out, width: 1}}
		for i := 0; i < len(stream); i += size {
			w.Write([]byte(stream[i:min(i+size, len(stream))]))
		}
		w.flush()
		for _, line := range strings.SplitAfter(out.String(), "\n") {
			if line == "" {
				continue
			}
			if !strings.HasPrefix(line, "s | ") || !strings.HasSuffix(line, "\n") {
				t.Fatalf("line %q is not one prefixed line", line)
			}
			if text := strings.TrimSuffix(line, "\n"); api.EscapeControl(text) != text {
				t.Fatalf("line %q holds control characters", line)
			}
		}
	})
}

func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"720h", 720 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"1s", time.Second, true},
		{"0s", 0, false},
		{"0d", 0, false},
		{"-5m", 0, false},
		{"-1d", 0, false},
		{"d", 0, false},
		{"soon", 0, false},
		{"99999999999d", 0, false},
		{"", 0, false},
	} {
		got, err := parseAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAge(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"exec", "server", "apply", "run", "runs", "logs", "pipelines", "secrets", "tokens", "prune", "audit", "version"}
	for _, tc := range []struct{ in, want string }{
		{"exce", "exec"},
		{"sever", "server"},
		{"tokns", "tokens"},
		{"pipeline", "pipelines"},
		{"pipe", "pipelines"},
		{"lgos", "logs"},
		{"frobnicate", ""},
		{"x", ""},
	} {
		if got := suggest.Closest(tc.in, names); got != tc.want {
			t.Errorf("suggest.Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
