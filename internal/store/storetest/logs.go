package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
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

// testConcurrent has many goroutines write and read at once, as callbacks
// and log pumps do: every call must succeed (no "database is locked").
func testConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const workers, each = 8, 25
	createRun(t, s, "r", "p", t0, "s")
	startStep(t, s, "r", "s", 1)

	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("k_%d_%d", w, i)
				errs <- s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: "s", Attempt: 1,
					Outputs: map[string]string{key: key, "last": key}})
				errs <- s.LogAppend(ctx, &store.LogAppendParams{RunID: "r", Step: "s", Attempt: 1,
					Lines: []store.LogLine{{Time: t0, Stream: "stdout", Text: key}, {Time: t0, Stream: "stderr", Text: key}}})
				id := fmt.Sprintf("run_%d_%d", w, i)
				_, err := s.RunCreate(ctx, &store.RunCreateParams{ID: id, Pipeline: "p", Steps: []string{"a", "b"}, Now: t0})
				errs <- err
				_, err = s.AttemptGet(ctx, "r", "s", 1)
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent call")
	}

	a := attemptOf(t, s, "r", "s", 1)
	if len(a.Outputs) != workers*each+1 {
		t.Fatalf("outputs after concurrent adds: got %d keys, want %d", len(a.Outputs), workers*each+1)
	}
	for k, v := range a.Outputs {
		if k != "last" && k != v {
			t.Fatalf("output %q: got %q", k, v)
		}
	}
	lines, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "s"})
	must(t, err, "LogList")
	if len(lines) != workers*each*2 {
		t.Fatalf("lines after concurrent appends: got %d, want %d", len(lines), workers*each*2)
	}
	// A batch is stored together: its two lines are adjacent.
	for i := 0; i < len(lines); i += 2 {
		if lines[i].Text != lines[i+1].Text {
			t.Fatalf("batch split: line %d %q, line %d %q", i, lines[i].Text, i+1, lines[i+1].Text)
		}
	}
	runs, err := s.RunList(ctx, &store.RunListParams{Pipeline: "p", Limit: 1000})
	must(t, err, "RunList")
	if len(runs) != workers*each+1 {
		t.Fatalf("runs after concurrent creates: got %d, want %d", len(runs), workers*each+1)
	}
}

// testRace has goroutines race for the same change: exactly one wins and
// the others get the sentinel error, never a backend error.
func testRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 12
	createRun(t, s, "r", "p", t0, "s")
	race := func(what string, lose error, call func() error) {
		t.Helper()
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { errs <- call() })
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, lose):
				t.Fatalf("%s: got error %v, want nil or %v", what, err, lose)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d calls succeeded, want 1", what, won)
		}
	}
	race("RunCreate", store.ErrExists, func() error {
		_, err := s.RunCreate(ctx, &store.RunCreateParams{ID: "dup", Pipeline: "p", Steps: []string{"a"}, Now: t0})
		return err
	})
	race("StepStart", store.ErrConflict, func() error {
		return s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "s", Attempt: 1, Now: t0})
	})
	race("StepFinish", store.ErrConflict, func() error {
		return s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "s", Attempt: 1,
			Status: store.StepSucceeded, ExitCode: intp(0), Now: at(1)})
	})
	race("RunSetStatus", store.ErrConflict, func() error {
		return s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunSucceeded, Now: at(2)})
	})
	if steps, err := s.StepList(ctx, "dup"); err != nil || len(steps) != 1 {
		t.Fatalf("StepList of the raced run: got %d steps, %v", len(steps), err)
	}
}

// tricky are values a store must keep exactly: unicode, empty, quotes,
// escapes, markup and control characters.
var tricky = map[string]string{
	"name":    "Zoë 名前 🎉",
	"empty":   "",
	"quotes":  `"'` + "`",
	"escapes": `\n \u0000 %s $HOME`,
	"lines":   "a\nb\r\n\tc",
	"markup":  "<a href=\"x\">&amp;</a>",
	"nul":     "a\x00b",
	"json":    `{"k": [1, null]}`,
	"ключ":    "значение",
	"long":    strings.Repeat("é", 1000),
}

func testMapsRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.RunCreate(ctx, &store.RunCreateParams{ID: "r", Pipeline: "p", Params: tricky, Vars: tricky,
		Steps: []string{"s", "ステップ"}, Now: t0})
	must(t, err, "RunCreate")
	r, err := s.RunGet(ctx, "r")
	must(t, err, "RunGet")
	wantMap(t, r.Params, tricky, "Params")
	wantMap(t, r.Vars, tricky, "Vars")

	_, err = s.RunCreate(ctx, &store.RunCreateParams{ID: "empty", Pipeline: "p", Params: map[string]string{}, Now: t0})
	must(t, err, "RunCreate without maps")
	r, err = s.RunGet(ctx, "empty")
	must(t, err, "RunGet")
	if len(r.Params) != 0 || len(r.Vars) != 0 {
		t.Fatalf("empty maps: got params %q vars %q", r.Params, r.Vars)
	}

	startStep(t, s, "r", "ステップ", 1)
	for k, v := range tricky {
		must(t, s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: "ステップ", Attempt: 1,
			Outputs: map[string]string{k: v}}), "StepOutputsAdd")
	}
	wantMap(t, attemptOf(t, s, "r", "ステップ", 1).Outputs, tricky, "attempt outputs")
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "ステップ", Attempt: 1,
		Status: store.StepSucceeded, ExitCode: intp(0), Outputs: tricky, Now: at(1)}), "StepFinish")
	wantMap(t, stepOf(t, s, "r", "ステップ").Outputs, tricky, "committed outputs")

	var lines []store.LogLine
	for _, v := range tricky {
		lines = append(lines, store.LogLine{Time: t0, Stream: "stdout", Text: v})
	}
	must(t, s.LogAppend(ctx, &store.LogAppendParams{RunID: "r", Step: "ステップ", Attempt: 1, Lines: lines}), "LogAppend")
	got, err := s.LogList(ctx, &store.LogListParams{RunID: "r", Step: "ステップ"})
	must(t, err, "LogList")
	for i, l := range got {
		if l.Text != lines[i].Text {
			t.Fatalf("log line %d: got %q, want %q", i, l.Text, lines[i].Text)
		}
	}
}

func testTimesRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := t0.Add(1) // one nanosecond past t0
	createRun(t, s, "r", "p", created, "s")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunRunning, Now: created.Add(2)}), "RunSetStatus")
	must(t, s.StepStart(ctx, &store.StepStartParams{RunID: "r", Name: "s", Attempt: 1, Now: created.Add(3)}), "StepStart")
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "s", Attempt: 1,
		Status: store.StepFailed, ExitCode: intp(-1), Now: created.Add(4)}), "StepFinish")

	r, err := s.RunGet(ctx, "r")
	must(t, err, "RunGet")
	wantTime(t, r.CreatedAt, created, "run CreatedAt")
	wantTime(t, r.StartedAt, created.Add(2), "run StartedAt")
	st := stepOf(t, s, "r", "s")
	wantTime(t, st.StartedAt, created.Add(3), "step StartedAt")
	wantTime(t, st.FinishedAt, created.Add(4), "step FinishedAt")
	wantExit(t, st.ExitCode, -1, "step")
	a := attemptOf(t, s, "r", "s", 1)
	wantTime(t, a.StartedAt, created.Add(3), "attempt StartedAt")
	wantTime(t, a.FinishedAt, created.Add(4), "attempt FinishedAt")
	if a.ExitCode == nil || *a.ExitCode != -1 || len(a.TokenHash) != 0 {
		t.Fatalf("attempt: got exit code %v token hash %q", fmtExit(a.ExitCode), a.TokenHash)
	}

	createRun(t, s, "nil-exit", "p", created, "s")
	startStep(t, s, "nil-exit", "s", 1)
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "nil-exit", Name: "s", Attempt: 1,
		Status: store.StepCanceled, Error: "timed out", Now: created.Add(5)}), "StepFinish without exit code")
	if st := stepOf(t, s, "nil-exit", "s"); st.ExitCode != nil || st.Status != store.StepCanceled {
		t.Fatalf("step without exit code: got %+v", st)
	}
	if a := attemptOf(t, s, "nil-exit", "s", 1); a.ExitCode != nil || a.Status != store.StepCanceled {
		t.Fatalf("attempt without exit code: got %+v", a)
	}
}
