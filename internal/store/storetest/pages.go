package storetest

import (
	"slices"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// testRunListPages: pages of RunList follow each other by cursor, newest
// first, none lost or repeated when runs share a creation time or arrive
// meanwhile; Since and Until bound the creation time; a cursor of no run
// is ErrNotFound.
func testRunListPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, id := range []string{"r1", "r2", "r3a", "r3b", "r3c", "r4", "r5"} {
		sec := i + 1
		if id[:2] == "r3" {
			sec = 3 // three runs created at the same time
		} else if i > 4 {
			sec = i - 1
		}
		createRun(t, s, id, "p", at(sec), "a")
	}
	var got []string
	before := ""
	for page := 0; page < 5; page++ {
		rows, err := s.RunList(ctx, &store.RunListParams{Limit: 2, Before: before})
		must(t, err, "RunList page")
		if len(rows) == 0 {
			break
		}
		got = append(got, runIDs(rows)...)
		before = rows[len(rows)-1].ID
		if page == 0 {
			createRun(t, s, "r9", "p", at(9), "a") // newer than every page to come
		}
	}
	if want := []string{"r5", "r4", "r3c", "r3b", "r3a", "r2", "r1"}; !slices.Equal(got, want) {
		t.Fatalf("pages by cursor: %q, want %q", got, want)
	}
	rows, err := s.RunList(ctx, &store.RunListParams{Since: at(2), Until: at(4)})
	must(t, err, "RunList by time")
	if want := []string{"r3c", "r3b", "r3a", "r2"}; !slices.Equal(runIDs(rows), want) {
		t.Fatalf("runs created in [2s, 4s): %q, want %q", runIDs(rows), want)
	}
	rows, err = s.RunList(ctx, &store.RunListParams{Before: "r3b", Pipeline: "p", Limit: 1})
	must(t, err, "RunList before r3b")
	if !slices.Equal(runIDs(rows), []string{"r3a"}) {
		t.Fatalf("one run before r3b: %q", runIDs(rows))
	}
	_, err = s.RunList(ctx, &store.RunListParams{Before: "nope"})
	wantErr(t, err, store.ErrNotFound, "RunList before a run that does not exist")
}
