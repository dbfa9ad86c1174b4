package engine

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/mask"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// sinkFor returns a log sink of attempt 1 of step "s" of run "r", on a real
// store, masking secrets, with the given log cap.
func sinkFor(t *testing.T, logCap int64, secrets ...string) (*logSink, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.RunCreate(ctx, &store.RunCreateParams{ID: "r", Pipeline: "p", Revision: 1, Steps: []string{"s"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "s", Attempt: 1, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Store: st, Executor: noop.New(), LogCap: logCap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(ctx) })
	r := newRunner(e, &store.RunRow{ID: "r", Pipeline: "p"}, &pipeline.Spec{Name: "p"})
	e.maskers.Store(attemptKey{"r", "s", 1}, mask.New(secrets...))
	s := r.newLogSink("s", 1, time.Time{})
	s.cancel = func() {}
	close(s.done) // fed by the test, not by an executor
	return s, st
}

func storedText(t *testing.T, st store.Store) []string {
	t.Helper()
	rows, err := st.LogList(context.Background(), &store.LogListParams{RunID: "r", Step: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range rows {
		out = append(out, l.Stream+":"+l.Text)
	}
	return out
}

// A secret split across pieces of one long line is masked; pieces of the
// other stream in between do not break it, and do not join it.
func TestLogSinkMasksAcrossPieces(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55word!"
	s, st := sinkFor(t, 1<<20, secret)
	at := time.Now()
	s.add(executor.LogLine{Time: at, Stream: "stdout", Text: "aaaa s3cr3t", Partial: true})
	s.add(executor.LogLine{Time: at.Add(1), Stream: "stderr", Text: "Pa55word! stands alone"})
	s.add(executor.LogLine{Time: at.Add(2), Stream: "stdout", Text: "-Pa5", Partial: true})
	s.add(executor.LogLine{Time: at.Add(3), Stream: "stdout", Text: "5word! bbbb"})
	s.add(executor.LogLine{Time: at.Add(4), Stream: "stdout", Text: "tail s3cr3t-Pa55"}) // ends without a newline
	s.add(executor.LogLine{Time: at.Add(5), Stream: "stdout", Text: "word! again"})
	s.finish()
	got := strings.Join(storedText(t, st), "\n")
	if strings.Contains(got, secret) {
		t.Fatalf("the secret reached the log: %q", got)
	}
	// The bytes that might begin the secret wait for the next piece, so
	// the mask starts that piece's line.
	for _, want := range []string{"stdout:aaaa ", "stderr:Pa55word! stands alone", "stdout:*** bbbb",
		"stdout:tail s3cr3t-Pa55", "stdout:word! again"} {
		if !strings.Contains(got+"\n", want+"\n") {
			t.Errorf("log %q lacks line %q", got, want)
		}
	}
}

// The last output quoted in a failure reason is in the order the lines
// were printed, stdout and stderr together, each line clipped.
func TestLogSinkTailInPrintOrder(t *testing.T) {
	t.Parallel()
	s, _ := sinkFor(t, 1<<20)
	at := time.Now()
	// Delivered out of order, as two streams read apart can be.
	s.add(executor.LogLine{Time: at.Add(2 * time.Millisecond), Stream: "stderr", Text: "second"})
	s.add(executor.LogLine{Time: at.Add(1 * time.Millisecond), Stream: "stdout", Text: "first"})
	s.add(executor.LogLine{Time: at.Add(3 * time.Millisecond), Stream: "stdout", Text: strings.Repeat("x", 1000)})
	got := s.finish()
	want := "first | second | " + strings.Repeat("x", tailLineMax) + "…"
	if got != want {
		t.Fatalf("tail = %q, want %q", got, want)
	}
}

// Past the cap the log keeps its head, a marker and its last lines, and the
// attempt records how much was dropped; under it, everything is stored.
func TestLogSinkCap(t *testing.T) {
	t.Parallel()
	s, st := sinkFor(t, 800) // head 700 bytes, tail 100
	at := time.Now()
	for i := range 100 {
		s.add(executor.LogLine{Time: at.Add(time.Duration(i)), Stream: "stdout", Text: strings.Repeat("a", 9)})
	}
	s.add(executor.LogLine{Time: at.Add(200), Stream: "stdout", Text: "the end"})
	s.finish()
	lines := storedText(t, st)
	if lines[len(lines)-1] != "stdout:the end" {
		t.Fatalf("last line %q, want the end", lines[len(lines)-1])
	}
	marker := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "stderr:baton: log cut at 693 bytes; ") {
			marker = i
		}
	}
	if marker != 77 {
		t.Fatalf("marker at line %d, want after the 77 lines of the head; lines: %q", marker, lines)
	}
	a, err := st.AttemptGet(context.Background(), "r", "s", 1)
	if err != nil {
		t.Fatal(err)
	}
	stored := int64(77*9 + (len(lines)-79)*9 + len("the end"))
	if a.LogDropped != 900+7-stored || !strings.Contains(lines[marker], " "+strconv.FormatInt(a.LogDropped, 10)+" more bytes not stored") {
		t.Fatalf("attempt dropped %d; marker %q; %d stored", a.LogDropped, lines[marker], stored)
	}
}
