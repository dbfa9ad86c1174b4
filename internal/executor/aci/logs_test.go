package aci

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestLogCursor: every line is delivered once, in order, across reads of
// a log that grows, and of one whose start Azure cut away.
func TestLogCursor(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var c logCursor
	var got []string
	read := func(raw ...string) {
		for _, l := range c.next(raw, now) {
			got = append(got, l.Text)
		}
	}
	read("2026-01-02T03:04:05.1Z a", "2026-01-02T03:04:05.2Z b")
	read("2026-01-02T03:04:05.1Z a", "2026-01-02T03:04:05.2Z b")
	read("2026-01-02T03:04:05.1Z a", "2026-01-02T03:04:05.2Z b", "2026-01-02T03:04:05.3Z c")
	// Azure kept the end only.
	read("2026-01-02T03:04:05.3Z c", "2026-01-02T03:04:05.4Z d")
	// Cut past what was delivered: all is new.
	read("2026-01-02T03:04:05.7Z g")
	if strings.Join(got, ",") != "a,b,c,d,g" {
		t.Errorf("delivered %q, want a,b,c,d,g once each", got)
	}
}

func TestParseLogLine(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		raw, text string
		at        time.Time
	}{
		{"2026-01-02T03:04:05.123456789Z hello world", "hello world", time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)},
		{"2026-01-02T03:04:05Z ", "", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"no time here", "no time here", now},
		{"2026-13-02T03:04:05Z bad month", "2026-13-02T03:04:05Z bad month", now},
		{"2026-01-02T03:04:05Z crlf\r", "crlf", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, tt := range tests {
		at, text := parseLogLine(tt.raw, now)
		if text != tt.text || !at.Equal(tt.at) {
			t.Errorf("parseLogLine(%q) = %s, %q; want %s, %q", tt.raw, at, text, tt.at, tt.text)
		}
	}
}

// TestLongLinesInPieces: a line longer than a piece arrives in pieces
// marked partial, whole when put together.
func TestLongLinesInPieces(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 2*maxPiece+5)
	var c logCursor
	lines := c.next([]string{"2026-01-02T03:04:05Z " + long}, time.Now())
	var b strings.Builder
	for i, l := range lines {
		if l.Partial != (i < len(lines)-1) || len(l.Text) > maxPiece {
			t.Errorf("piece %d: %d bytes, partial %v", i, len(l.Text), l.Partial)
		}
		b.WriteString(l.Text)
	}
	if len(lines) != 3 || b.String() != long {
		t.Errorf("%d pieces making %d bytes, want 3 making the line", len(lines), b.Len())
	}
}

// FuzzLogCursor: whatever Azure's log holds, each read delivers pieces no
// longer than a piece, the text of the lines it was given and no more.
func FuzzLogCursor(f *testing.F) {
	f.Add("2026-01-02T03:04:05Z a\n2026-01-02T03:04:06Z b\n", "2026-01-02T03:04:06Z b\nc\n")
	f.Add("", "\n\n")
	f.Add("x y z", "\xff\xfe 2026-01-02T03:04:05.999999999999Z")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, first, second string) {
		var c logCursor
		for _, content := range []string{first, second} {
			raw := strings.Split(content, "\n")
			total := 0
			for _, r := range raw {
				total += len(r)
			}
			got := 0
			for _, l := range c.next(raw, now) {
				if len(l.Text) > maxPiece || l.Time.IsZero() {
					t.Fatalf("line of %d bytes at %s", len(l.Text), l.Time)
				}
				got += len(l.Text)
			}
			if got > total {
				t.Fatalf("delivered %d bytes from %d", got, total)
			}
		}
	})
}

// TestOneLine: Azure's messages are quoted on one line, bounded.
func TestOneLine(t *testing.T) {
	t.Parallel()
	got := oneLine("line one\nline two\x1b[31m\t" + strings.Repeat("é", 400))
	if strings.ContainsAny(got, "\n\x1b\t") || len(got) > maxMessage+len("…") || !utf8.ValidString(got) {
		t.Errorf("oneLine: %q", got)
	}
}
