package store_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/baton-dev/baton/internal/store"
)

func TestCheckScheduleTickOutcome(t *testing.T) {
	now := time.Now()
	ok := func(edit func(p *store.ScheduleTickOutcomeParams)) *store.ScheduleTickOutcomeParams {
		p := &store.ScheduleTickOutcomeParams{Pipeline: "p", Key: "@daily", Tick: now, Claim: "c",
			Outcome: store.TickFired, RunID: "r", Now: now}
		edit(p)
		return p
	}
	for _, tc := range []struct {
		name string
		p    *store.ScheduleTickOutcomeParams
		want string
	}{
		{"fired", ok(func(*store.ScheduleTickOutcomeParams) {}), ""},
		{"paused", ok(func(p *store.ScheduleTickOutcomeParams) { p.Outcome, p.RunID = store.TickSkippedPaused, "" }), ""},
		{"overlap", ok(func(p *store.ScheduleTickOutcomeParams) { p.Outcome, p.RunID = store.TickSkippedOverlap, "" }), ""},
		{"failed", ok(func(p *store.ScheduleTickOutcomeParams) { p.Outcome, p.RunID, p.Error = store.TickFailed, "", "no" }), ""},
		{"no claim", ok(func(p *store.ScheduleTickOutcomeParams) { p.Claim = "" }),
			"set tick outcome: no claim: only the scheduler that recorded a tick sets its outcome"},
		{"zero tick", ok(func(p *store.ScheduleTickOutcomeParams) { p.Tick = time.Time{} }), "set tick outcome: tick is the zero time"},
		{"zero now", ok(func(p *store.ScheduleTickOutcomeParams) { p.Now = time.Time{} }), "set tick outcome: time is the zero time"},
		{"unknown", ok(func(p *store.ScheduleTickOutcomeParams) { p.Outcome, p.RunID = store.TickUnknown, "" }),
			`set tick outcome: "unknown" is not an outcome a tick can be set to`},
		{"fired without run", ok(func(p *store.ScheduleTickOutcomeParams) { p.RunID = "" }), "set tick outcome: a fired tick needs its run id"},
		{"skipped with run", ok(func(p *store.ScheduleTickOutcomeParams) { p.Outcome = store.TickSkippedOverlap }),
			"set tick outcome: a tick skipped_overlap started no run"},
		{"failed without error", ok(func(p *store.ScheduleTickOutcomeParams) { p.Outcome, p.RunID = store.TickFailed, "" }),
			"set tick outcome: a failed tick, and only a failed one, has an error"},
		{"fired with error", ok(func(p *store.ScheduleTickOutcomeParams) { p.Error = "x" }),
			"set tick outcome: a failed tick, and only a failed one, has an error"},
	} {
		wantErr(t, tc.name, store.CheckScheduleTickOutcome(tc.p), tc.want)
	}
}

func TestCheckScheduleTickList(t *testing.T) {
	for _, n := range []int{0, 1, store.MaxTickList} {
		wantErr(t, "limit", store.CheckScheduleTickList(&store.ScheduleTickListParams{Limit: n}), "")
	}
	for _, n := range []int{-1, store.MaxTickList + 1} {
		if store.CheckScheduleTickList(&store.ScheduleTickListParams{Limit: n}) == nil {
			t.Errorf("limit %d: got no error", n)
		}
	}
	if n := store.TickListLimit(&store.ScheduleTickListParams{}); n != 100 {
		t.Errorf("default limit: got %d, want 100", n)
	}
}

func TestBoundTickError(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"two\nlines\r\tand\x1b[31mred\x00", "two lines  and [31mred "},
		{"bidi \u202eevil", "bidi  evil"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{strings.Repeat("a", store.MaxTickError), strings.Repeat("a", store.MaxTickError)},
		{strings.Repeat("a", store.MaxTickError+1), strings.Repeat("a", store.MaxTickError-3) + "…"},
		// A cut never splits a character.
		{"a" + strings.Repeat("é", store.MaxTickError), "a" + strings.Repeat("é", (store.MaxTickError-4)/2) + "…"},
	} {
		if got := store.BoundTickError(tc.in); got != tc.want {
			t.Errorf("BoundTickError(%.40q): got %.60q, want %.60q", tc.in, got, tc.want)
		}
	}
}

// FuzzBoundTickError: whatever an error says, what a tick keeps is valid
// UTF-8 without control or format characters, within the bound.
func FuzzBoundTickError(f *testing.F) {
	for _, s := range []string{"", "x", "a\nb", "\xff\xfe", strings.Repeat("é", 600), "\u202e\u200d\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := store.BoundTickError(s)
		if len(got) > store.MaxTickError || !utf8.ValidString(got) {
			t.Fatalf("BoundTickError(%q) = %q: %d bytes, valid UTF-8 %v", s, got, len(got), utf8.ValidString(got))
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("BoundTickError(%q) = %q keeps %U", s, got, r)
			}
		}
		if len(s) <= store.MaxTickError && utf8.ValidString(s) && utf8.RuneCountInString(got) != utf8.RuneCountInString(s) {
			t.Fatalf("BoundTickError(%q) = %q cut a short text", s, got)
		}
	})
}
