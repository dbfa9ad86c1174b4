package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
)

// allLogs returns every stored line of a step, every attempt's.
func allLogs(t *testing.T, st store.Store, runID, step string) []*store.LogRow {
	t.Helper()
	var all []*store.LogRow
	var after int64
	for {
		rows, err := st.LogList(context.Background(), &store.LogListParams{RunID: runID, Step: step, AfterSeq: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			return all
		}
		all = append(all, rows...)
		after = rows[len(rows)-1].Seq
	}
}

var cutMarker = regexp.MustCompile(`^baton: log cut at (\d+) bytes; (\d+) more bytes not stored`)

// TestLogCapKeepsHeadMarkerAndTail has a step print many megabytes as fast
// as it can, far past a small log cap: the stored log is the first lines,
// a line saying how much was cut, and the last lines, the very last one
// included; the attempt records the cut; nothing else is lost silently.
func TestLogCapKeepsHeadMarkerAndTail(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	const logCap = 256 << 10
	h := newHarness(t, process.New(process.Options{Dir: t.TempDir()}), "", "", func(c *engine.Config) { c.LogCap = logCap })
	// 8.5 MB of numbered lines, then a last line.
	script := bb + ` awk 'BEGIN { for (i = 1; i <= 140000; i++) printf "line %09d of a step that prints far more than it should\n", i }'; echo LAST-LINE`
	name := h.apply(`
name: loud
steps:
  - name: print
    command: ["` + bb + `", "sh", "-c", ` + quoteYAML(script) + `]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	rows := allLogs(t, h.st, r.ID, "print")
	if len(rows) == 0 {
		t.Fatal("no lines stored")
	}
	if got := rows[0].Text; got != "line 000000001 of a step that prints far more than it should" {
		t.Errorf("first line = %q", got)
	}
	if got := rows[len(rows)-1].Text; got != "LAST-LINE" {
		t.Errorf("last stored line = %q, want LAST-LINE", got)
	}
	var stored, markers int64
	var cutAt, dropped int64
	markerAt := -1
	for i, l := range rows {
		if m := cutMarker.FindStringSubmatch(l.Text); m != nil {
			markers++
			markerAt = i
			cutAt, _ = strconv.ParseInt(m[1], 10, 64)
			dropped, _ = strconv.ParseInt(m[2], 10, 64)
			continue
		}
		stored += int64(len(l.Text))
	}
	if markers != 1 {
		t.Fatalf("%d cut markers stored, want 1", markers)
	}
	if stored > logCap {
		t.Errorf("%d bytes of output stored, more than the cap of %d", stored, logCap)
	}
	const total = 140000*int64(len("line 000000001 of a step that prints far more than it should")) + int64(len("LAST-LINE"))
	if stored+dropped != total {
		t.Errorf("stored %d + dropped %d bytes = %d, want all %d printed: some went missing without a word", stored, dropped, stored+dropped, total)
	}
	var head int64
	for _, l := range rows[:markerAt] {
		head += int64(len(l.Text))
	}
	if cutAt != head {
		t.Errorf("marker says the log was cut at %d bytes; %d were stored before it", cutAt, head)
	}
	if markerAt == len(rows)-1 {
		t.Error("nothing stored after the marker: the last lines are missing")
	}
	a, err := h.st.AttemptGet(context.Background(), r.ID, "print", 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.LogDropped != dropped || a.LogDropped == 0 {
		t.Errorf("attempt records %d bytes dropped, the marker says %d", a.LogDropped, dropped)
	}
	if a.LogBytes != stored+int64(len(rows[markerAt].Text)) {
		t.Errorf("attempt records %d bytes stored; the lines hold %d", a.LogBytes, stored+int64(len(rows[markerAt].Text)))
	}
}

// TestLogUnderCapIsWhole: an attempt under the cap stores every line, no
// marker, and says nothing was dropped.
func TestLogUnderCapIsWhole(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newHarness(t, process.New(process.Options{Dir: t.TempDir()}), "", "", func(c *engine.Config) { c.LogCap = 1 << 20 })
	name := h.apply(`
name: quiet
steps:
  - name: print
    command: ["` + bb + `", "seq", "1", "20000"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	rows := allLogs(t, h.st, r.ID, "print")
	if len(rows) != 20000 || rows[len(rows)-1].Text != "20000" {
		t.Fatalf("stored %d lines, last %q; want 20000, last 20000", len(rows), rows[len(rows)-1].Text)
	}
	if a, err := h.st.AttemptGet(context.Background(), r.ID, "print", 1); err != nil || a.LogDropped != 0 {
		t.Fatalf("attempt: %+v, %v; want nothing dropped", a, err)
	}
}

// TestSecretAcrossPieceBoundaryMasked prints the attempt's token so that it
// straddles the point where the executor splits a long line into pieces: it
// is masked still.
func TestSecretAcrossPieceBoundaryMasked(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	h := newHarness(t, process.New(process.Options{Dir: filepath.Join(dir, "process")}), "", "")
	// The process executor reads 64 KiB at a time: the token starts 10
	// bytes before the first cut, and the line goes on past the second.
	script := `T=${BATON_TOKEN:-$(cat "$BATON_TOKEN_FILE")}; printf %s "$T" > ` + tokenFile + `; ` +
		`pad=$(` + bb + ` head -c 65526 /dev/zero | ` + bb + ` tr '\0' a); ` +
		`echo "$pad$T$pad$T-end"; echo "whole $T line"`
	name := h.apply(`
name: pieces
steps:
  - name: leak
    command: ["` + bb + `", "sh", "-c", ` + quoteYAML(script) + `]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	token, err := os.ReadFile(tokenFile)
	if err != nil || len(token) < 16 {
		t.Fatalf("token file: %q, %v", token, err)
	}
	rows := allLogs(t, h.st, r.ID, "leak")
	var joined strings.Builder
	for _, l := range rows {
		joined.WriteString(l.Text)
	}
	text := joined.String()
	if strings.Contains(text, string(token)) || strings.Contains(text, string(token[:16])) {
		t.Fatal("the token reached the stored log in clear")
	}
	if n := strings.Count(text, "***"); n < 3 {
		t.Errorf("%d masks in the log, want 3 (the token was printed 3 times)", n)
	}
	if !strings.HasSuffix(rows[len(rows)-2].Text, "***-end") || rows[len(rows)-1].Text != "whole *** line" {
		t.Errorf("last lines = %q, %q", clipTest(rows[len(rows)-2].Text), rows[len(rows)-1].Text)
	}
}

func clipTest(s string) string {
	if len(s) > 80 {
		return "…" + s[len(s)-80:]
	}
	return s
}
