package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

func testAttemptList(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Listed order differs from name order, and steps retried differ.
	createRun(t, s, "r", "p", t0, "zulu", "alpha", "mike")
	createRun(t, s, "other", "p", t0, "zulu")
	startStep(t, s, "other", "zulu", 1)
	startStep(t, s, "r", "alpha", 1)
	startStep(t, s, "r", "zulu", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "zulu", Attempt: 1,
		Status: store.StepRetrying, ExitCode: intp(1), Now: at(2)}), "StepFinish")
	startStep(t, s, "r", "zulu", 2)

	list, err := s.AttemptList(ctx, "r")
	must(t, err, "AttemptList")
	var got []string
	for _, a := range list {
		got = append(got, fmt.Sprintf("%s/%d/%s", a.Step, a.Attempt, a.Status))
		if a.RunID != "r" {
			t.Fatalf("AttemptList of r: got an attempt of run %q", a.RunID)
		}
	}
	want := []string{"zulu/1/failed", "zulu/2/running", "alpha/1/running"}
	if !slices.Equal(got, want) {
		t.Fatalf("AttemptList: got %q, want %q", got, want)
	}
	list, err = s.AttemptList(ctx, "nope")
	must(t, err, "AttemptList of a missing run")
	if len(list) != 0 {
		t.Fatalf("AttemptList of a missing run: got %d attempts", len(list))
	}
}

func testLogs(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "s", "other")
	startStep(t, s, "r", "s", 1)
	startStep(t, s, "r", "other", 1)
	appendLines := func(step string, attempt int, texts ...string) {
		t.Helper()
		p := &store.LogAppendParams{RunID: "r", Step: step, Attempt: attempt}
		for i, text := range texts {
			p.Lines = append(p.Lines, store.LogLine{Time: at(10*attempt + i), Stream: "stdout", Text: text})
		}
		must(t, s.LogAppend(ctx, p), "LogAppend")
	}
	appendLines("s", 1, "one", "two", "")
	appendLines("other", 1, "elsewhere")
	appendLines("s", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "s", Attempt: 1,
		Status: store.StepRetrying, ExitCode: intp(1), Now: at(2)}), "StepFinish")
	startStep(t, s, "r", "s", 2)
	appendLines("s", 2, "three", "four")
	// A finished attempt's late lines are still kept.
	must(t, s.LogAppend(ctx, &store.LogAppendParams{RunID: "r", Step: "s", Attempt: 1,
		Lines: []store.LogLine{{Time: at(19), Stream: "stderr", Text: "late ✓"}}}), "LogAppend of a finished attempt")

	all, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s"})
	must(t, err, "LogList")
	var got []string
	for i, l := range all {
		got = append(got, fmt.Sprintf("%d/%s/%s", l.Attempt, l.Stream, l.Text))
		if i > 0 && l.Seq <= all[i-1].Seq {
			t.Fatalf("LogList: sequence numbers not increasing: %d after %d", l.Seq, all[i-1].Seq)
		}
	}
	want := []string{"1/stdout/one", "1/stdout/two", "1/stdout/", "2/stdout/three", "2/stdout/four", "1/stderr/late ✓"}
	if !slices.Equal(got, want) {
		t.Fatalf("LogList: got %q, want %q", got, want)
	}
	wantTime(t, all[1].Time, at(11), "line time")
	wantTime(t, all[4].Time, at(21), "line time")

	// Page through with AfterSeq.
	var paged []*store.LogRow
	after := int64(0)
	for {
		page, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s", AfterSeq: after, Limit: 4})
		must(t, err, "LogList page")
		if len(page) > 4 {
			t.Fatalf("LogList with Limit 4: got %d lines", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if len(paged) != len(all) {
		t.Fatalf("paging: got %d lines, want %d", len(paged), len(all))
	}
	for i := range all {
		if *paged[i] != *all[i] {
			t.Fatalf("paging: line %d: got %+v, want %+v", i, paged[i], all[i])
		}
	}
	rest, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s", AfterSeq: all[3].Seq})
	must(t, err, "LogList after a line")
	if len(rest) != 2 || rest[0].Text != "four" {
		t.Fatalf("LogList after line 3: got %d lines", len(rest))
	}
	none, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "nope"})
	must(t, err, "LogList of a missing step")
	if len(none) != 0 {
		t.Fatalf("LogList of a missing step: got %d lines", len(none))
	}
}
