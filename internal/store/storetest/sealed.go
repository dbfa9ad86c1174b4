package storetest

import (
	"bytes"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

// testAttemptSealed checks that what an attempt was started with, sealed by
// the engine, is kept byte for byte with that attempt alone while it runs,
// in every read of it (a restarted engine masks the attempt's output with
// it), and is dropped once the attempt ended, however it ended.
func testAttemptSealed(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRun(t, s, "r", "p", t0, "build", "test", "lint")
	// Every byte value, so a store that keeps text, trims or stops at NUL
	// shows.
	sealed := make([]byte, 0, 512)
	for i := range 256 {
		sealed = append(sealed, byte(i), byte(255-i))
	}
	want := bytes.Clone(sealed)
	startSealed := func(step string, attempt int, blob []byte) {
		t.Helper()
		must(t, s.StepStart(ctx, &store.StepStartParams{
			RunID: "r", Name: step, Attempt: attempt, TokenHash: []byte("hash"), Now: at(attempt), Sealed: blob,
		}), "StepStart of "+step)
	}
	startSealed("build", 1, sealed)
	sealed[0] ^= 0xff // the store must have kept its own copy
	startStep(t, s, "r", "test", 1)
	startSealed("lint", 1, []byte{1, 2, 3})

	wantSealed := func(step string, attempt int, want []byte, when string) {
		t.Helper()
		if a := attemptOf(t, s, "r", step, attempt); !bytes.Equal(a.Sealed, want) {
			t.Fatalf("AttemptGet of %s/%d %s: Sealed is %d bytes, want %d", step, attempt, when, len(a.Sealed), len(want))
		}
		all, err := s.AttemptList(ctx, "r")
		must(t, err, "AttemptList")
		for _, a := range all {
			if a.Step == step && a.Attempt == attempt {
				if !bytes.Equal(a.Sealed, want) {
					t.Fatalf("AttemptList, %s/%d %s: Sealed is %d bytes, want %d", step, attempt, when, len(a.Sealed), len(want))
				}
				return
			}
		}
		t.Fatalf("AttemptList %s: no attempt %s/%d", when, step, attempt)
	}
	wantSealed("build", 1, want, "while running")
	wantSealed("test", 1, nil, "started without a blob")

	must(t, s.StepSetHandle(ctx, &store.StepSetHandleParams{RunID: "r", Name: "build", Attempt: 1, Handle: []byte(`{"id":"c"}`)}), "StepSetHandle")
	must(t, s.StepOutputsAdd(ctx, &store.StepOutputsAddParams{RunID: "r", Name: "build", Attempt: 1, Outputs: map[string]string{"a": "1"}}), "StepOutputsAdd")
	must(t, s.AttemptSetImage(ctx, "r", "build", 1, "sha256:abc"), "AttemptSetImage")
	wantSealed("build", 1, want, "after its handle, outputs and image were set")

	must(t, s.StepFinish(ctx, &store.StepFinishParams{
		RunID: "r", Name: "build", Attempt: 1, Status: store.StepRetrying, ExitCode: intp(1), Handle: []byte(`{"id":"c"}`), Now: at(2),
	}), "StepFinish")
	wantSealed("build", 1, nil, "after the attempt ended")

	// The next attempt seals its own start.
	next := []byte{9, 8, 7}
	startSealed("build", 2, next)
	wantSealed("build", 2, next, "of the next attempt")
	must(t, s.StepFinish(ctx, &store.StepFinishParams{
		RunID: "r", Name: "build", Attempt: 2, Status: store.StepSucceeded, ExitCode: intp(0), Now: at(3),
	}), "StepFinish of attempt 2")
	wantSealed("build", 2, nil, "after it succeeded")

	// A step ended over a running attempt's head ends the attempt too.
	must(t, s.StepFinish(ctx, &store.StepFinishParams{RunID: "r", Name: "lint", Status: store.StepCanceled, Now: at(4)}), "StepFinish without attempt")
	wantSealed("lint", 1, nil, "after its step was canceled")
}
