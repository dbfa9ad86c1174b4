package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

func TestPipelinePageDiffsRevisionsAndShowsSchedules(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	one := `
name: nightly
params:
  target: {required: true, description: "where to <deploy>"}
schedules:
  - cron: "0 3 * * *"
    params: {target: all}
steps:
  - name: build
    command: ["` + s.bb + `", "echo", "build"]
`
	s.apply(one)
	s.apply(strings.Replace(one, `"echo", "build"`, `"echo", "build", "fast"`, 1))
	b := s.signedIn(auth.Operator)
	code, page, _ := b.get("/pipelines/nightly")
	if code != http.StatusOK {
		t.Fatalf("page: %d\n%s", code, page)
	}
	for _, want := range []string{
		"Revision 1 → 2", `<tr class="del">`, `<tr class="ins">`, `&#34;echo&#34;, &#34;build&#34;, &#34;fast&#34;`,
		"<code>0 3 * * *</code>", `name="param.target"`, "required", "where to &lt;deploy&gt;", "never",
	} {
		if !strings.Contains(page, want) {
			t.Fatalf("pipeline page lacks %s:\n%s", want, page)
		}
	}
	// The next ticks are 03:00 UTC.
	if !strings.Contains(page, " 03:00:00Z") {
		t.Fatalf("no next tick at 03:00:\n%s", page)
	}
	_, page, _ = b.get("/pipelines/nightly?from=2&to=2")
	if !strings.Contains(page, "the same") {
		t.Fatal("same revisions not said")
	}
	for _, q := range []string{"from=0", "to=9", "from=x"} {
		if code, page, _ := b.get("/pipelines/nightly?" + q); code != http.StatusBadRequest || !strings.Contains(page, "1 to 2") {
			t.Fatalf("%s: %d", q, code)
		}
	}
	if code, _, _ := b.get("/pipelines/nope"); code != http.StatusNotFound {
		t.Fatalf("unknown pipeline: %d", code)
	}
	_, page, _ = b.get("/pipelines")
	if !strings.Contains(page, `href="/pipelines/nightly"`) {
		t.Fatalf("pipelines list:\n%s", page)
	}
}

func TestHealthCountsRunsAndLeftovers(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.seedRuns(30) // ten failed
	ctx := context.Background()
	// An attempt whose container could not be removed.
	if _, err := s.st.RunCreate(ctx, &store.RunCreateParams{ID: "left-1", Pipeline: "seed", Revision: 1, Steps: []string{"only"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.StepStart(ctx, &store.StepStartParams{RunID: "left-1", Name: "only", Attempt: 1, Now: time.Now(), Executor: "process"}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.StepFinish(ctx, &store.StepFinishParams{RunID: "left-1", Name: "only", Attempt: 1, Status: store.StepFailed,
		Error: "exit 1", Handle: []byte(`{"pid":1}`), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.StepSetCleanup(ctx, &store.StepSetCleanupParams{RunID: "left-1", Name: "only", Attempt: 1, Tries: 3, Error: "device or resource busy"}); err != nil {
		t.Fatal(err)
	}
	b := s.signedIn(auth.Viewer)
	code, page, _ := b.get("/health")
	if code != http.StatusOK {
		t.Fatalf("health: %d\n%s", code, page)
	}
	for _, want := range []string{
		"<td><a href=\"/runs?pipeline=seed\">seed</a></td><td>31</td><td>10</td><td>33.3%</td>",
		`<span class="big">1</span> queued`, "Runs per day", `class="bar s-failed"`, "Dead runs", "seed-0027",
		`href="/runs/left-1"`, "device or resource busy",
	} {
		if !strings.Contains(page, want) {
			t.Fatalf("health lacks %s:\n%s", want, page)
		}
	}
	_ = page
}

// The health page's per-day statistics are read at most every 30 s: a run
// that arrives meanwhile shows once they are read again.
func TestHealthStatisticsAreKeptThirtySeconds(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	s := newServerWith(t, serverOptions{now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	s.seedRuns(3)
	b := s.signedIn(auth.Viewer)
	row := func(n int) string {
		return fmt.Sprintf("<td><a href=\"/runs?pipeline=seed\">seed</a></td><td>%d</td>", n)
	}
	if _, page, _ := b.get("/health"); !strings.Contains(page, row(3)) {
		t.Fatalf("first read:\n%s", page)
	}
	if _, err := s.st.RunCreate(context.Background(), &store.RunCreateParams{ID: "late", Pipeline: "seed", Revision: 1, Steps: []string{"only"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, page, _ := b.get("/health"); !strings.Contains(page, row(3)) || !strings.Contains(page, `<span class="big">1</span> queued`) {
		t.Fatalf("within 30 s the statistics are the kept ones, the queue is live:\n%s", page)
	}
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	if _, page, _ := b.get("/health"); !strings.Contains(page, row(4)) {
		t.Fatalf("after 30 s:\n%s", page)
	}
}
