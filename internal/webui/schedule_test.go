package webui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

// TestPipelinePageShowsLastTicks records ticks with every outcome through
// the store and sees a viewer's pipeline page show the five newest, newest
// first: what came of each, the run a fired one started as a link, which
// were caught up, and why one failed, escaped.
func TestPipelinePageShowsLastTicks(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.apply(`
name: nightly
schedules:
  - cron: "0 3 * * *"
    catchup: last
steps:
  - name: build
    command: ["` + s.bb + `", "echo", "build"]
`)
	ctx := context.Background()
	run, err := s.eng.Submit(ctx, submit("nightly"))
	if err != nil {
		t.Fatal(err)
	}
	s.waitRun(run.ID)

	const key = "0 3 * * *"
	day := func(n int) time.Time { return time.Date(2026, 3, n, 3, 0, 0, 0, time.UTC) }
	const hostile = `<script>alert("tick")</script> & more`
	for _, tc := range []struct {
		day     int
		outcome store.TickOutcome
		runID   string
		err     string
		catchUp bool
	}{
		{day: 1, outcome: store.TickFired, runID: run.ID}, // too old to show
		{day: 2}, // recorded, never decided: too old to show
		{day: 3}, // recorded, never decided
		{day: 4, outcome: store.TickFailed, err: hostile},
		{day: 5, outcome: store.TickSkippedPaused},
		{day: 6, outcome: store.TickSkippedOverlap},
		{day: 7, outcome: store.TickFired, runID: run.ID, catchUp: true},
	} {
		claim := "claim"
		if ok, err := s.st.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: "nightly", Key: key, Tick: day(tc.day),
			Claim: claim, CatchUp: tc.catchUp, Now: day(tc.day)}); err != nil || !ok {
			t.Fatalf("ScheduleTick: %v, %v", ok, err)
		}
		if tc.outcome == "" {
			continue
		}
		if err := s.st.ScheduleTickSetOutcome(ctx, &store.ScheduleTickOutcomeParams{Pipeline: "nightly", Key: key,
			Tick: day(tc.day), Claim: claim, Outcome: tc.outcome, RunID: tc.runID, Error: tc.err, Now: day(tc.day)}); err != nil {
			t.Fatal(err)
		}
	}

	b := s.signedIn(auth.Viewer)
	code, page, _ := b.get("/pipelines/nightly")
	if code != http.StatusOK {
		t.Fatalf("page: %d\n%s", code, page)
	}
	rows := strings.Split(page, `<div class="tick">`)[1:]
	if len(rows) != 5 {
		t.Fatalf("got %d tick rows, want the last 5:\n%s", len(rows), page)
	}
	for i, want := range []struct {
		day  int
		has  []string
		lack []string
	}{
		{7, []string{">fired<", `<a href="/runs/` + run.ID + `"`, `<span class="tag">caught up</span>`}, nil},
		{6, []string{">skipped: overlap<"}, []string{"<a ", "caught up"}},
		{5, []string{">skipped: paused<"}, []string{"<a ", "caught up"}},
		{4, []string{">failed to start<", "&lt;script&gt;alert(&#34;tick&#34;)&lt;/script&gt; &amp; more"}, []string{"<a ", "caught up", "<script>"}},
		{3, []string{">unknown<"}, []string{"<a ", "caught up"}},
	} {
		row, _, _ := strings.Cut(rows[i], "</div>")
		if !strings.Contains(row, `datetime="`+day(want.day).Format(time.RFC3339)+`"`) {
			t.Fatalf("tick row %d is not the tick of day %d: %s", i, want.day, row)
		}
		for _, h := range want.has {
			if !strings.Contains(row, h) {
				t.Errorf("tick row of day %d lacks %s: %s", want.day, h, row)
			}
		}
		for _, l := range want.lack {
			if strings.Contains(row, l) {
				t.Errorf("tick row of day %d has %s: %s", want.day, l, row)
			}
		}
	}
	for _, old := range []int{1, 2} {
		if strings.Contains(page, day(old).Format(time.RFC3339)) {
			t.Errorf("the tick of day %d, older than the last 5, is shown", old)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Fatal("a tick's error text reached the page unescaped")
	}
}

// TestPipelinePageScheduleNeverTicked: a schedule with no recorded tick
// says so.
func TestPipelinePageScheduleNeverTicked(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.apply(`
name: quiet
schedules:
  - cron: "@yearly"
steps:
  - name: only
    command: ["` + s.bb + `", "true"]
`)
	_, page, _ := s.signedIn(auth.Viewer).get("/pipelines/quiet")
	if strings.Contains(page, `<div class="tick">`) || !strings.Contains(page, `<span class="muted">never</span>`) {
		t.Fatalf("a schedule that never ticked:\n%s", page)
	}
}

// TestPipelinePageTickOfPrunedRun: the latest tick outlives its run's
// pruning; it names the run without a link to a page that is gone.
func TestPipelinePageTickOfPrunedRun(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.apply(`
name: pruned
schedules:
  - cron: "@daily"
steps:
  - name: only
    command: ["` + s.bb + `", "true"]
`)
	ctx := context.Background()
	run, err := s.eng.Submit(ctx, submit("pruned"))
	if err != nil {
		t.Fatal(err)
	}
	s.waitRun(run.ID)
	tick := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if ok, err := s.st.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: "pruned", Key: "@daily", Tick: tick, Claim: "c", Now: tick}); err != nil || !ok {
		t.Fatalf("ScheduleTick: %v, %v", ok, err)
	}
	if err := s.st.ScheduleTickSetOutcome(ctx, &store.ScheduleTickOutcomeParams{Pipeline: "pruned", Key: "@daily",
		Tick: tick, Claim: "c", Outcome: store.TickFired, RunID: run.ID, Now: tick}); err != nil {
		t.Fatal(err)
	}
	b := s.signedIn(auth.Viewer)
	if _, page, _ := b.get("/pipelines/pruned"); !strings.Contains(page, `<a href="/runs/`+run.ID+`"`) {
		t.Fatalf("before the prune the tick does not link its run:\n%s", page)
	}
	if n, err := s.st.RunPrune(ctx, &store.RunPruneParams{Before: time.Now().Add(time.Hour)}); err != nil || n != 1 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	_, page, _ := b.get("/pipelines/pruned")
	row, _, _ := strings.Cut(strings.SplitN(page, `<div class="tick">`, 2)[1], "</div>")
	if !strings.Contains(row, run.ID+" (pruned)") || strings.Contains(row, "<a ") {
		t.Fatalf("the tick of a pruned run: %s", row)
	}
}
