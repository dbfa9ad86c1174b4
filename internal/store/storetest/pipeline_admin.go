package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

func putPipeline(t *testing.T, s store.Store, name, spec string, sec int) *store.PipelineRow {
	t.Helper()
	row, err := s.PipelinePut(t.Context(), &store.PipelinePutParams{Name: name, Spec: []byte(spec), Now: at(sec)})
	must(t, err, "PipelinePut "+name)
	return row
}

func pipelineNames(t *testing.T, s store.Store) []string {
	t.Helper()
	rows, err := s.PipelineList(t.Context())
	must(t, err, "PipelineList")
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
	}
	return names
}

func pausedNames(t *testing.T, s store.Store) []string {
	t.Helper()
	rows, err := s.SchedulePauseList(t.Context())
	must(t, err, "SchedulePauseList")
	var names []string
	for _, r := range rows {
		names = append(names, r.Pipeline)
	}
	return names
}

func testPipelineDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	del := func(name string, sec int) error {
		return s.PipelineDelete(ctx, &store.PipelineDeleteParams{Name: name, Now: at(sec)})
	}
	wantErr(t, del("nope", 1), store.ErrNotFound, "PipelineDelete of an unknown pipeline")
	putPipeline(t, s, "p", "v1", 1)
	putPipeline(t, s, "p", "v2", 2)
	putPipeline(t, s, "q", "q1", 3)
	if err := s.PipelineDelete(ctx, &store.PipelineDeleteParams{Name: "p"}); err == nil {
		t.Fatal("PipelineDelete at the zero time: got nil, want an error")
	}

	// Unfinished runs keep the pipeline; the refusal names them.
	createRun(t, s, "r-queued", "p", at(4), "a")
	createRun(t, s, "r-running", "p", at(5), "a")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r-running", Status: store.RunRunning, Now: at(5)}), "RunSetStatus")
	createRun(t, s, "r-done", "p", at(6), "a")
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r-done", Status: store.RunSucceeded, Now: at(6)}), "RunSetStatus")
	createRun(t, s, "q-run", "q", at(7), "a")
	err := del("p", 8)
	wantErr(t, err, store.ErrConflict, "PipelineDelete with unfinished runs")
	var unfinished *store.UnfinishedRunsError
	if !errors.As(err, &unfinished) || unfinished.Pipeline != "p" || !slices.Equal(unfinished.Runs, []string{"r-queued", "r-running"}) {
		t.Fatalf("PipelineDelete with unfinished runs: got %v, want an UnfinishedRunsError naming r-queued, r-running", err)
	}
	if got := pipelineNames(t, s); !slices.Equal(got, []string{"p", "q"}) {
		t.Fatalf("PipelineList after a refused delete: got %q", got)
	}

	// Ticks and the pause are forgotten with the pipeline; q keeps its own.
	for _, name := range []string{"p", "q"} {
		if _, err := s.ScheduleTick(ctx, &store.ScheduleTickParams{Pipeline: name, Key: "@hourly", Tick: at(9), Now: at(9)}); err != nil {
			t.Fatalf("ScheduleTick: %v", err)
		}
		must(t, s.SchedulePauseSet(ctx, &store.SchedulePauseSetParams{Pipeline: name, Paused: true, Now: at(9)}), "SchedulePauseSet")
	}
	for _, id := range []string{"r-queued", "r-running"} {
		must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: store.RunCanceled, Now: at(10)}), "RunSetStatus")
	}
	must(t, del("p", 11), "PipelineDelete")
	if got := pipelineNames(t, s); !slices.Equal(got, []string{"q"}) {
		t.Fatalf("PipelineList after delete: got %q, want [q]", got)
	}
	_, err = s.PipelineGet(ctx, "p", 0)
	wantErr(t, err, store.ErrNotFound, "PipelineGet latest of a deleted pipeline")
	// Runs pinned revisions by number: those stay readable.
	old, err := s.PipelineGet(ctx, "p", 2)
	must(t, err, "PipelineGet of a deleted pipeline's revision")
	if string(old.Spec) != "v2" {
		t.Fatalf("revision 2 after delete: got spec %q, want v2", old.Spec)
	}
	if _, err := s.RunGet(ctx, "r-done"); err != nil {
		t.Fatalf("RunGet of a deleted pipeline's run: %v", err)
	}
	last, err := s.ScheduleLastTick(ctx, "p", "@hourly")
	must(t, err, "ScheduleLastTick")
	wantTime(t, last, time.Time{}, "last tick of a deleted pipeline")
	last, err = s.ScheduleLastTick(ctx, "q", "@hourly")
	must(t, err, "ScheduleLastTick")
	wantTime(t, last, at(9), "last tick of the other pipeline")
	if got := pausedNames(t, s); !slices.Equal(got, []string{"q"}) {
		t.Fatalf("SchedulePauseList after delete: got %q, want [q]", got)
	}
	wantErr(t, del("p", 12), store.ErrNotFound, "PipelineDelete twice")
	wantErr(t, s.SchedulePauseSet(ctx, &store.SchedulePauseSetParams{Pipeline: "p", Paused: true, Now: at(12)}),
		store.ErrNotFound, "SchedulePauseSet of a deleted pipeline")

	// Applied again, even unchanged, it comes back under a new number.
	if r := putPipeline(t, s, "p", "v2", 13); r.Revision != 3 || string(r.Spec) != "v2" {
		t.Fatalf("put after delete: got revision %d spec %q, want 3 v2", r.Revision, r.Spec)
	}
	if r := putPipeline(t, s, "p", "v2", 14); r.Revision != 3 {
		t.Fatalf("same put again: got revision %d, want 3", r.Revision)
	}
	latest, err := s.PipelineGet(ctx, "p", 0)
	must(t, err, "PipelineGet latest after put")
	if latest.Revision != 3 {
		t.Fatalf("latest after put: got revision %d, want 3", latest.Revision)
	}
	if got := pipelineNames(t, s); !slices.Equal(got, []string{"p", "q"}) {
		t.Fatalf("PipelineList after put: got %q", got)
	}
	if got := pausedNames(t, s); !slices.Equal(got, []string{"q"}) {
		t.Fatalf("a pipeline applied again after delete is paused: %q", got)
	}
}

func testSchedulePause(t *testing.T, s store.Store) {
	ctx := t.Context()
	set := func(name string, paused bool, sec int) error {
		return s.SchedulePauseSet(ctx, &store.SchedulePauseSetParams{Pipeline: name, Paused: paused, Now: at(sec)})
	}
	wantErr(t, set("nope", true, 1), store.ErrNotFound, "SchedulePauseSet of an unknown pipeline")
	wantErr(t, set("nope", false, 1), store.ErrNotFound, "SchedulePauseSet resume of an unknown pipeline")
	if got := pausedNames(t, s); len(got) != 0 {
		t.Fatalf("SchedulePauseList of an empty store: %q", got)
	}
	putPipeline(t, s, "b", "v1", 1)
	putPipeline(t, s, "a", "v1", 1)
	must(t, set("b", true, 2), "pause b")
	must(t, set("a", true, 3), "pause a")
	must(t, set("b", true, 4), "pause b again")
	rows, err := s.SchedulePauseList(ctx)
	must(t, err, "SchedulePauseList")
	if len(rows) != 2 || rows[0].Pipeline != "a" || rows[1].Pipeline != "b" {
		t.Fatalf("SchedulePauseList: got %+v, want a then b", rows)
	}
	wantTime(t, rows[0].PausedAt, at(3), "a's PausedAt")
	wantTime(t, rows[1].PausedAt, at(2), "b's PausedAt, kept from the first pause")

	// A new revision keeps the pause.
	putPipeline(t, s, "b", "v2", 5)
	if got := pausedNames(t, s); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after a new revision of b: %q", got)
	}
	must(t, set("b", false, 6), "resume b")
	must(t, set("b", false, 7), "resume b again")
	if got := pausedNames(t, s); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after resuming b: %q", got)
	}
}

func testTokenRevokeKeeping(t *testing.T, s store.Store) {
	ctx := t.Context()
	create := func(name, role string) {
		t.Helper()
		_, err := s.TokenCreate(ctx, &store.TokenCreateParams{Name: name, Role: role, Hash: hashOf("v-" + name), Now: at(1)})
		must(t, err, "TokenCreate "+name)
	}
	revoke := func(name string) error {
		return s.TokenRevokeKeeping(ctx, &store.TokenRevokeKeepingParams{Name: name, Keep: "admin", Now: at(2)})
	}
	revoked := func(name string) bool {
		t.Helper()
		row, err := s.TokenGetByHash(ctx, hashOf("v-"+name))
		must(t, err, "TokenGetByHash "+name)
		return !row.RevokedAt.IsZero()
	}
	wantErr(t, revoke("nope"), store.ErrNotFound, "TokenRevokeKeeping of a missing token")
	create("a1", "admin")
	create("a2", "admin")
	create("v", "viewer")
	must(t, revoke("v"), "revoke the only viewer")
	must(t, revoke("a1"), "revoke one of two admins")
	err := revoke("a1")
	wantErr(t, err, store.ErrConflict, "revoke a revoked token")
	if errors.Is(err, store.ErrLastToken) {
		t.Fatalf("revoke a revoked token: got %v, want a plain conflict", err)
	}
	err = revoke("a2")
	wantErr(t, err, store.ErrLastToken, "revoke the last admin")
	wantErr(t, err, store.ErrConflict, "revoke the last admin")
	if revoked("a2") {
		t.Fatal("the last admin token was revoked")
	}
	if s.TokenRevoke(ctx, "nope", at(3)) == nil {
		t.Fatal("TokenRevoke of a missing token: got nil")
	}
	create("a3", "admin")
	must(t, revoke("a2"), "revoke an admin once another exists")
	if !revoked("a2") || revoked("a3") {
		t.Fatalf("after revoking a2: a2 revoked %v, a3 revoked %v", revoked("a2"), revoked("a3"))
	}
	if err := s.TokenRevokeKeeping(ctx, &store.TokenRevokeKeepingParams{Name: "a3", Keep: "admin"}); err == nil {
		t.Fatal("TokenRevokeKeeping at the zero time: got nil, want an error")
	}
}

// testTokenRevokeKeepingRace revokes every unrevoked admin token at once,
// round after round: exactly one must stay each time.
func testTokenRevokeKeepingRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	for round := range 10 {
		for _, n := range []string{"x", "y"} {
			name := fmt.Sprintf("%s%d", n, round)
			_, err := s.TokenCreate(ctx, &store.TokenCreateParams{Name: name, Role: "admin", Hash: hashOf("v-" + name), Now: at(1)})
			must(t, err, "TokenCreate")
		}
		list, err := s.TokenList(ctx)
		must(t, err, "TokenList")
		var live []string
		for _, tok := range list {
			if tok.Role == "admin" && tok.RevokedAt.IsZero() {
				live = append(live, tok.Name)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, len(live))
		for i, name := range live {
			wg.Go(func() {
				errs[i] = s.TokenRevokeKeeping(ctx, &store.TokenRevokeKeepingParams{Name: name, Keep: "admin", Now: at(2)})
			})
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, store.ErrLastToken):
				refused++
			case err != nil:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if refused != 1 {
			t.Fatalf("round %d: %d of %d revocations at once refused, want exactly 1", round, refused, len(live))
		}
	}
}
