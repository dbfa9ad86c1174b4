package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

func testPipelineRevisions(t *testing.T, s store.Store) {
	ctx := t.Context()
	put := func(spec string, now int) *store.PipelineRow {
		t.Helper()
		b := []byte(spec)
		row, err := s.PipelinePut(ctx, &store.PipelinePutParams{Name: "build", Spec: b, Now: at(now)})
		must(t, err, "PipelinePut")
		b[0] = 'X' // the store must keep its own copy
		return row
	}
	if r := put("v1", 0); r.Revision != 1 || string(r.Spec) != "v1" || r.Name != "build" {
		t.Fatalf("first put: got revision %d spec %q name %q, want 1 v1 build", r.Revision, r.Spec, r.Name)
	}
	r := put("v1", 5)
	if r.Revision != 1 {
		t.Fatalf("same spec: got revision %d, want 1", r.Revision)
	}
	wantTime(t, r.CreatedAt, at(0), "unchanged revision's CreatedAt")
	if r := put("v2", 10); r.Revision != 2 {
		t.Fatalf("changed spec: got revision %d, want 2", r.Revision)
	}
	// Only the latest revision counts: going back to v1 is a new revision.
	if r := put("v1", 20); r.Revision != 3 {
		t.Fatalf("spec of revision 1 again: got revision %d, want 3", r.Revision)
	}

	latest, err := s.PipelineGet(ctx, "build", 0)
	must(t, err, "PipelineGet latest")
	if latest.Revision != 3 || string(latest.Spec) != "v1" {
		t.Fatalf("latest: got revision %d spec %q, want 3 v1", latest.Revision, latest.Spec)
	}
	wantTime(t, latest.CreatedAt, at(20), "latest CreatedAt")
	r2, err := s.PipelineGet(ctx, "build", 2)
	must(t, err, "PipelineGet 2")
	if r2.Revision != 2 || string(r2.Spec) != "v2" {
		t.Fatalf("revision 2: got revision %d spec %q, want 2 v2", r2.Revision, r2.Spec)
	}
	_, err = s.PipelineGet(ctx, "build", 4)
	wantErr(t, err, store.ErrNotFound, "PipelineGet of a missing revision")
	_, err = s.PipelineGet(ctx, "nope", 0)
	wantErr(t, err, store.ErrNotFound, "PipelineGet of a missing pipeline")
}

func testPipelineList(t *testing.T, s store.Store) {
	ctx := t.Context()
	list, err := s.PipelineList(ctx)
	must(t, err, "PipelineList of an empty store")
	if len(list) != 0 {
		t.Fatalf("empty store: got %d pipelines", len(list))
	}
	for _, p := range []struct{ name, spec string }{
		{"zeta", "z1"}, {"alpha", "a1"}, {"zeta", "z2"}, {"mid", "m1"}, {"alpha", "a2"}, {"alpha", "a3"},
	} {
		_, err := s.PipelinePut(ctx, &store.PipelinePutParams{Name: p.name, Spec: []byte(p.spec), Now: t0})
		must(t, err, "PipelinePut")
	}
	list, err = s.PipelineList(ctx)
	must(t, err, "PipelineList")
	var got []string
	for _, p := range list {
		got = append(got, fmt.Sprintf("%s/%d/%s", p.Name, p.Revision, p.Spec))
	}
	want := []string{"alpha/3/a3", "mid/1/m1", "zeta/2/z2"}
	if !slices.Equal(got, want) {
		t.Fatalf("PipelineList: got %q, want %q", got, want)
	}
}

func testRunCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := &store.RunCreateParams{
		ID: "r1", Pipeline: "build", Revision: 2, Executor: "docker",
		Params: map[string]string{"branch": "main"},
		Vars:   map[string]string{"RUN": "r1", "branch": "main"},
		Steps:  []string{"fetch", "compile", "test"},
		Now:    t0,
	}
	created, err := s.RunCreate(ctx, p)
	must(t, err, "RunCreate")
	got, err := s.RunGet(ctx, "r1")
	must(t, err, "RunGet")
	for _, r := range []*store.RunRow{created, got} {
		if r.ID != "r1" || r.Pipeline != "build" || r.Revision != 2 || r.Executor != "docker" ||
			r.Status != store.RunQueued || r.Error != "" {
			t.Fatalf("run: got %+v", r)
		}
		wantMap(t, r.Params, p.Params, "Params")
		wantMap(t, r.Vars, p.Vars, "Vars")
		wantTime(t, r.CreatedAt, t0, "CreatedAt")
		wantTime(t, r.StartedAt, store.RunRow{}.StartedAt, "StartedAt")
		wantTime(t, r.FinishedAt, store.RunRow{}.FinishedAt, "FinishedAt")
	}

	steps, err := s.StepList(ctx, "r1")
	must(t, err, "StepList")
	if len(steps) != 3 {
		t.Fatalf("StepList: got %d steps, want 3", len(steps))
	}
	for i, st := range steps {
		if st.RunID != "r1" || st.Name != p.Steps[i] || st.Index != i || st.Status != store.StepPending ||
			st.Attempts != 0 || st.ExitCode != nil || st.Error != "" || len(st.Outputs) != 0 ||
			!st.StartedAt.IsZero() || !st.FinishedAt.IsZero() {
			t.Fatalf("step %d: got %+v", i, st)
		}
	}

	_, err = s.RunCreate(ctx, &store.RunCreateParams{ID: "r1", Pipeline: "other", Steps: []string{"x"}, Now: t0})
	wantErr(t, err, store.ErrExists, "RunCreate with a taken ID")
	again, err := s.RunGet(ctx, "r1")
	must(t, err, "RunGet after a refused create")
	if again.Pipeline != "build" {
		t.Fatalf("refused create changed the run: pipeline %q", again.Pipeline)
	}
	if steps, _ := s.StepList(ctx, "r1"); len(steps) != 3 {
		t.Fatalf("refused create changed the steps: %d steps", len(steps))
	}

	_, err = s.RunGet(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "RunGet of a missing run")
	steps, err = s.StepList(ctx, "nope")
	must(t, err, "StepList of a missing run")
	if len(steps) != 0 {
		t.Fatalf("StepList of a missing run: got %d steps", len(steps))
	}
}

func runIDs(rows []*store.RunRow) []string {
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func testRunList(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Runs b1 and b2 share a creation time: the larger ID comes first.
	createRun(t, s, "a1", "alpha", at(1), "s")
	createRun(t, s, "b1", "beta", at(2), "s")
	createRun(t, s, "b2", "beta", at(2), "s")
	createRun(t, s, "a2", "alpha", at(3), "s")
	createRun(t, s, "a0", "alpha", at(4), "s")
	for id, st := range map[string]store.RunStatus{"a1": store.RunRunning, "b1": store.RunFailed, "a0": store.RunSucceeded} {
		must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: st, Now: at(9)}), "RunSetStatus")
	}

	for _, tc := range []struct {
		name string
		p    store.RunListParams
		want []string
	}{
		{"all", store.RunListParams{}, []string{"a0", "a2", "b2", "b1", "a1"}},
		{"pipeline", store.RunListParams{Pipeline: "alpha"}, []string{"a0", "a2", "a1"}},
		{"status", store.RunListParams{Statuses: []store.RunStatus{store.RunQueued}}, []string{"a2", "b2"}},
		{"statuses", store.RunListParams{Statuses: []store.RunStatus{store.RunRunning, store.RunFailed}}, []string{"b1", "a1"}},
		{"both", store.RunListParams{Pipeline: "beta", Statuses: []store.RunStatus{store.RunQueued, store.RunSucceeded}}, []string{"b2"}},
		{"limit", store.RunListParams{Limit: 2}, []string{"a0", "a2"}},
		{"no match", store.RunListParams{Pipeline: "gamma"}, nil},
	} {
		got, err := s.RunList(ctx, &tc.p)
		must(t, err, "RunList "+tc.name)
		if ids := runIDs(got); !slices.Equal(ids, tc.want) {
			t.Errorf("RunList %s: got %q, want %q", tc.name, ids, tc.want)
		}
	}
	got, err := s.RunList(ctx, &store.RunListParams{Pipeline: "alpha", Limit: 1})
	must(t, err, "RunList")
	if len(got) != 1 || got[0].Status != store.RunSucceeded {
		t.Fatalf("RunList rows: got %+v", got)
	}
	wantTime(t, got[0].CreatedAt, at(4), "listed CreatedAt")
	wantTime(t, got[0].FinishedAt, at(9), "listed FinishedAt")
}

func testRunListDefaultLimit(t *testing.T, s store.Store) {
	for i := range 103 {
		createRun(t, s, fmt.Sprintf("r%03d", i), "p", at(i))
	}
	got, err := s.RunList(t.Context(), &store.RunListParams{})
	must(t, err, "RunList")
	if len(got) != 100 || got[0].ID != "r102" || got[99].ID != "r003" {
		t.Fatalf("RunList without a limit: got %d runs from %q, want 100 from r102 to r003", len(got), runIDs(got)[:1])
	}
}

func testRunSetStatus(t *testing.T, s store.Store) {
	ctx := t.Context()
	set := func(id string, st store.RunStatus, errText string, now int) error {
		return s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: st, Error: errText, Now: at(now)})
	}
	get := func(id string) *store.RunRow {
		t.Helper()
		r, err := s.RunGet(ctx, id)
		must(t, err, "RunGet")
		return r
	}
	createRun(t, s, "r", "p", t0, "s")
	must(t, set("r", store.RunRunning, "", 1), "queued to running")
	must(t, set("r", store.RunRunning, "", 2), "running to running")
	r := get("r")
	if r.Status != store.RunRunning {
		t.Fatalf("status: got %s, want running", r.Status)
	}
	wantTime(t, r.StartedAt, at(1), "StartedAt, set once")
	wantTime(t, r.FinishedAt, store.RunRow{}.FinishedAt, "FinishedAt of a running run")

	must(t, set("r", store.RunFailed, "step compile failed", 3), "running to failed")
	r = get("r")
	if r.Status != store.RunFailed || r.Error != "step compile failed" {
		t.Fatalf("failed run: got status %s error %q", r.Status, r.Error)
	}
	wantTime(t, r.StartedAt, at(1), "StartedAt after finishing")
	wantTime(t, r.FinishedAt, at(3), "FinishedAt")
	for _, st := range []store.RunStatus{store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunFailed, store.RunCanceled} {
		wantErr(t, set("r", st, "", 4), store.ErrConflict, "failed run to "+string(st))
	}
	if r := get("r"); r.Status != store.RunFailed || !r.FinishedAt.Equal(at(3)) {
		t.Fatalf("refused change altered the run: %+v", r)
	}

	for _, st := range []store.RunStatus{store.RunSucceeded, store.RunCanceled} {
		id := "q-" + string(st)
		createRun(t, s, id, "p", t0)
		must(t, set(id, st, "", 5), "queued to "+string(st))
		r := get(id)
		if r.Status != st {
			t.Fatalf("status: got %s, want %s", r.Status, st)
		}
		wantTime(t, r.StartedAt, store.RunRow{}.StartedAt, "StartedAt of a run that never ran")
		wantTime(t, r.FinishedAt, at(5), "FinishedAt")
		wantErr(t, set(id, store.RunRunning, "", 6), store.ErrConflict, string(st)+" run to running")
	}

	wantErr(t, set("nope", store.RunRunning, "", 1), store.ErrNotFound, "RunSetStatus of a missing run")
	createRun(t, s, "bogus", "p", t0)
	if err := set("bogus", "paused", "", 1); err == nil {
		t.Fatalf("RunSetStatus to an unknown status: got no error")
	}
}
