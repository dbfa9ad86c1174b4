package storetest

import (
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// testRunParent: a run started by a step attempt of another run keeps
// that link, as RunCreate returns it and RunGet and RunList read it back;
// other runs have none.
func testRunParent(t *testing.T, s store.Store) {
	parent := createRun(t, s, "parent", "p", at(1), "call")
	if parent.Parent != (store.RunParent{}) {
		t.Fatalf("a run nobody started has parent %+v", parent.Parent)
	}
	link := store.RunParent{RunID: "parent", Step: "call", Attempt: 2}
	child, err := s.RunCreate(t.Context(), &store.RunCreateParams{
		ID: "child", Pipeline: "c", Revision: 1, Executor: "noop", Steps: []string{"a"}, Now: at(2),
		Key: "child:parent/call/2", Parent: link,
	})
	must(t, err, "RunCreate child")
	if child.Parent != link {
		t.Fatalf("RunCreate: parent %+v, want %+v", child.Parent, link)
	}
	got, err := s.RunGet(t.Context(), "child")
	must(t, err, "RunGet child")
	if got.Parent != link {
		t.Fatalf("RunGet: parent %+v, want %+v", got.Parent, link)
	}
	rows, err := s.RunList(t.Context(), &store.RunListParams{Key: "child:parent/call/2"})
	must(t, err, "RunList by key")
	if len(rows) != 1 || rows[0].Parent != link {
		t.Fatalf("RunList by the child's key: %+v", rows)
	}
}
