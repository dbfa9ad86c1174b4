package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

// seedRuns creates n runs of pipeline "seed" straight in the store, one a
// minute back from now, with params i=N and parity=odd|even; every third
// one failed.
func (s *server) seedRuns(n int) []string {
	s.t.Helper()
	s.apply(`
name: seed
params:
  i: {default: "0"}
  parity: {default: even}
steps:
  - name: only
    command: ["` + s.bb + `", "true"]
`)
	ctx := context.Background()
	now := time.Now()
	ids := make([]string, n)
	for i := range n {
		parity := "even"
		if i%2 == 1 {
			parity = "odd"
		}
		at := now.Add(-time.Duration(n-i) * time.Minute)
		id := fmt.Sprintf("seed-%04d", i)
		if _, err := s.st.RunCreate(ctx, &store.RunCreateParams{ID: id, Pipeline: "seed", Revision: 1,
			Params: map[string]string{"i": fmt.Sprint(i), "parity": parity}, Steps: []string{"only"}, Now: at}); err != nil {
			s.t.Fatal(err)
		}
		status := store.RunSucceeded
		if i%3 == 0 {
			status = store.RunFailed
		}
		for _, st := range []store.RunStatus{store.RunRunning, status} {
			if err := s.st.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: st, Now: at.Add(time.Second)}); err != nil {
				s.t.Fatal(err)
			}
		}
		ids[i] = id
	}
	return ids
}

var runLink = regexp.MustCompile(`href="/runs/(seed-\d+)" class="mono"`)

func listed(page string) []string {
	var ids []string
	for _, m := range runLink.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

var nextLink = regexp.MustCompile(`href="(/runs\?[^"]+)" rel="next"`)

func TestRunsListPagesAndFilters(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ids := s.seedRuns(120)
	b := s.signedIn(auth.Viewer)

	// Newest first, 50 a page, pages by cursor to the end: every run once.
	var seen []string
	path := "/runs"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		code, page, _ := b.get(path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
		seen = append(seen, listed(page)...)
		path = ""
		if m := nextLink.FindStringSubmatch(page); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 120 || seen[0] != ids[119] || seen[119] != ids[0] {
		t.Fatalf("paged %d runs, first %v last %v", len(seen), seen[:1], seen[len(seen)-1:])
	}

	// Filters: status, param, pipeline and time, together with paging.
	_, page, _ := b.get("/runs?status=failed&param=parity%3Dodd")
	got := listed(page)
	if len(got) != 20 { // i odd and divisible by 3: 3, 9, ..., 117
		t.Fatalf("failed odd runs: %d %v", len(got), got)
	}
	for _, id := range got {
		var i int
		fmt.Sscanf(id, "seed-%d", &i)
		if i%2 != 1 || i%3 != 0 {
			t.Fatalf("filter let %s through", id)
		}
	}
	if _, page, _ = b.get("/runs?param=i%3D7"); fmt.Sprint(listed(page)) != "[seed-0007]" {
		t.Fatalf("param i=7: %v", listed(page))
	}
	if _, page, _ = b.get("/runs?pipeline=other"); len(listed(page)) != 0 || !strings.Contains(page, "No runs match") {
		t.Fatalf("other pipeline: %v", listed(page))
	}
	since := time.Now().Add(-10*time.Minute - 30*time.Second).UTC().Format(time.RFC3339)
	if _, page, _ = b.get("/runs?since=" + since); len(listed(page)) != 10 {
		t.Fatalf("since %s: %v", since, listed(page))
	}
	if _, page, _ = b.get("/runs?range=1h"); len(listed(page)) != 50 || !strings.Contains(page, "rel=\"next\"") {
		t.Fatalf("last hour: %d", len(listed(page)))
	}

	// What is wrong with a filter is said, and nothing is listed.
	for q, want := range map[string]string{
		"status=lost":                          "not one of queued",
		"param=novalue":                        "NAME=VALUE",
		"param=word%3Dtango&param=word%3Decho": "is filtered by twice",
		"since=yesterday":                      "not a time",
		"range=1y":                             "not one of 1h",
		"before=nope":                          "does not exist",
		"param=a%3D1&param=b%3D1&param=c%3D1&param=d%3D1&param=e%3D1&param=f%3D1&param=g%3D1&param=h%3D1&param=i%3D1": "at most 8",
	} {
		code, page, _ := b.get("/runs?" + q)
		if code != http.StatusBadRequest || !strings.Contains(page, want) || len(listed(page)) != 0 || strings.Contains(page, "data-live") {
			t.Errorf("%s: %d, want 400 saying %q", q, code, want)
		}
	}
}

func TestRunsListUpdatesLive(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.seedRuns(3)
	b := s.signedIn(auth.Operator)
	_, page, _ := b.get("/runs?pipeline=seed")
	if !strings.Contains(page, `data-live="/runs/events?pipeline=seed"`) {
		t.Fatalf("first page is not live:\n%s", page)
	}
	if _, page, _ = b.get("/runs?before=seed-0002"); strings.Contains(page, "data-live") {
		t.Fatal("a later page updates itself")
	}
	ev := b.events("/runs/events?pipeline=seed")
	first := next(t, ev, "rows")
	if strings.Count(first.data, "<tr") != 3 {
		t.Fatalf("first rows:\n%s", first.data)
	}
	run, err := s.eng.Submit(context.Background(), submit("seed"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		e := next(t, ev, "rows")
		if strings.Contains(e.data, run.ID) {
			break
		}
	}
}
