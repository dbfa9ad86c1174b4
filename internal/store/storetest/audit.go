package storetest

import (
	"fmt"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	list := func(limit int) []*store.AuditEntry {
		t.Helper()
		got, err := s.AuditList(ctx, &store.AuditListParams{Limit: limit})
		must(t, err, "AuditList")
		return got
	}
	if got := list(0); len(got) != 0 {
		t.Fatalf("AuditList of an empty store: got %d entries", len(got))
	}

	// Times go backwards on purpose: newest means last appended, not
	// latest time, since clocks can step back.
	in := []*store.AuditEntry{
		{Time: at(30), Actor: "admin", Action: "pipeline.apply", Target: "build", Detail: "revision 1"},
		{Time: at(20), Actor: "ci", Action: "run.create", Target: "r1"},
		{Time: at(10), Actor: "admin", Action: "secret.set", Target: "db", Detail: "key k1"},
	}
	var last int64
	for _, e := range in {
		must(t, s.AuditAppend(ctx, e), "AuditAppend")
		if e.Seq <= last {
			t.Fatalf("AuditAppend: Seq %d after %d, want increasing", e.Seq, last)
		}
		last = e.Seq
	}
	got := list(0)
	if len(got) != len(in) {
		t.Fatalf("AuditList: got %d entries, want %d", len(got), len(in))
	}
	for i, g := range got {
		want := in[len(in)-1-i]
		if g.Seq != want.Seq || g.Actor != want.Actor || g.Action != want.Action ||
			g.Target != want.Target || g.Detail != want.Detail {
			t.Fatalf("AuditList[%d]: got %+v, want %+v", i, g, want)
		}
		wantTime(t, g.Time, want.Time, fmt.Sprintf("AuditList[%d] Time", i))
	}
	if got := list(2); len(got) != 2 || got[0].Seq != in[2].Seq || got[1].Seq != in[1].Seq {
		t.Fatalf("AuditList limit 2: got %+v, want the 2 newest", got)
	}
	if got := list(1000); len(got) != len(in) {
		t.Fatalf("AuditList limit 1000: got %d entries, want %d", len(got), len(in))
	}
}

func testAuditDefaultLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 105
	for i := range n {
		must(t, s.AuditAppend(ctx, &store.AuditEntry{Time: at(i), Actor: "a", Action: "run.create",
			Target: fmt.Sprint("r", i)}), "AuditAppend")
	}
	got, err := s.AuditList(ctx, &store.AuditListParams{})
	must(t, err, "AuditList")
	if len(got) != 100 {
		t.Fatalf("AuditList without a limit: got %d entries, want 100", len(got))
	}
	if got[0].Target != fmt.Sprint("r", n-1) || got[99].Target != fmt.Sprint("r", n-100) {
		t.Fatalf("AuditList without a limit: got %q .. %q, want the newest 100", got[0].Target, got[99].Target)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq >= got[i-1].Seq {
			t.Fatalf("AuditList: Seq %d after %d, want newest first", got[i].Seq, got[i-1].Seq)
		}
	}
}

func testAttemptSetImage(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "build", "test")
	wantErr(t, s.AttemptSetImage(ctx, "r", "build", 1, "sha256:aa"), store.ErrNotFound,
		"AttemptSetImage before the attempt started")
	startStep(t, s, "r", "build", 1)
	if a := attemptOf(t, s, "r", "build", 1); a.ImageDigest != "" {
		t.Fatalf("new attempt ImageDigest: got %q, want empty", a.ImageDigest)
	}
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	must(t, s.AttemptSetImage(ctx, "r", "build", 1, digest), "AttemptSetImage")
	if a := attemptOf(t, s, "r", "build", 1); a.ImageDigest != digest {
		t.Fatalf("ImageDigest: got %q, want %q", a.ImageDigest, digest)
	}
	list, err := s.AttemptList(ctx, "r")
	must(t, err, "AttemptList")
	if len(list) != 1 || list[0].ImageDigest != digest {
		t.Fatalf("AttemptList: got %+v, want one attempt with the digest", list)
	}

	// A finished attempt may still learn its image.
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "build", Attempt: 1,
		Status: store.StepFailed, ExitCode: intp(1), Now: at(2)}), "StepFinish")
	must(t, s.AttemptSetImage(ctx, "r", "build", 1, "sha256:bb"), "AttemptSetImage of a finished attempt")
	if a := attemptOf(t, s, "r", "build", 1); a.ImageDigest != "sha256:bb" {
		t.Fatalf("ImageDigest after finish: got %q", a.ImageDigest)
	}

	wantErr(t, s.AttemptSetImage(ctx, "r", "build", 2, digest), store.ErrNotFound, "AttemptSetImage of a missing attempt")
	wantErr(t, s.AttemptSetImage(ctx, "r", "test", 1, digest), store.ErrNotFound, "AttemptSetImage of a step never started")
	wantErr(t, s.AttemptSetImage(ctx, "r", "nope", 1, digest), store.ErrNotFound, "AttemptSetImage of a missing step")
	wantErr(t, s.AttemptSetImage(ctx, "nope", "build", 1, digest), store.ErrNotFound, "AttemptSetImage of a missing run")
}
