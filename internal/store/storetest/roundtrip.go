package storetest

import (
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

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

	_, err = s.RunCreate(ctx, &store.RunCreateParams{ID: "rerun", Pipeline: "p", RetryOf: "Zoë 名前 🎉",
		Steps: []string{"s", "ステップ"}, Done: map[string]map[string]string{"ステップ": tricky}, Now: t0})
	must(t, err, "RunCreate with done steps")
	wantMap(t, stepOf(t, s, "rerun", "ステップ").Outputs, tricky, "outputs of a done step")
	if r, err := s.RunGet(ctx, "rerun"); err != nil || r.RetryOf != "Zoë 名前 🎉" {
		t.Fatalf("RetryOf: got %+v, %v", r, err)
	}

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
