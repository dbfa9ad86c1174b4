package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TickOutcome is what came of a schedule's tick.
type TickOutcome string

// Tick outcomes. A tick is recorded [TickUnknown] and then set, once, to
// one of the others by the scheduler that recorded it.
const (
	// TickUnknown: no outcome was recorded: the tick predates outcomes, or
	// its scheduler stopped before it knew one.
	TickUnknown TickOutcome = "unknown"
	// TickFired: the tick started a run.
	TickFired TickOutcome = "fired"
	// TickSkippedPaused: the pipeline's schedules were paused.
	TickSkippedPaused TickOutcome = "skipped_paused"
	// TickSkippedOverlap: a run of the pipeline was still going and the
	// schedule's overlap policy said to skip the tick.
	TickSkippedOverlap TickOutcome = "skipped_overlap"
	// TickFailed: the run could not be started; the error says why.
	TickFailed TickOutcome = "failed"
)

// MaxTickError bounds the bytes of error text a tick keeps.
const MaxTickError = 1024

// MaxTickList bounds [ScheduleTickListParams.Limit].
const MaxTickList = 1000

// TickPruneBatch is how many ticks a store deletes in one transaction of
// [Store.RunPrune].
const TickPruneBatch = 500

// ScheduleTickOutcomeParams are the arguments of
// [Store.ScheduleTickSetOutcome].
type ScheduleTickOutcomeParams struct {
	Pipeline string
	Key      string
	Tick     time.Time
	// Claim is the [ScheduleTickParams.Claim] the tick was recorded with.
	Claim   string
	Outcome TickOutcome
	// RunID is the run a [TickFired] tick started; required then, and
	// empty otherwise.
	RunID string
	// Error says why a [TickFailed] tick started no run; required then,
	// and empty otherwise. It is stored as [BoundTickError] leaves it.
	Error string
	Now   time.Time
}

// ScheduleTickListParams are the arguments of [Store.ScheduleTickList].
type ScheduleTickListParams struct {
	Pipeline string
	Key      string
	// Limit is how many ticks to return; 0 means 100, and more than
	// [MaxTickList] is refused.
	Limit int
}

// ScheduleTickRow is one recorded tick of a schedule and what came of it.
type ScheduleTickRow struct {
	Pipeline string
	Key      string
	Tick     time.Time
	Outcome  TickOutcome
	RunID    string
	Error    string
	// CatchUp: the tick was fired late, by the schedule's catch-up policy.
	CatchUp bool
	// ClaimedAt is when the tick was recorded; DecidedAt when its outcome
	// was, the zero time while it is [TickUnknown].
	ClaimedAt time.Time
	DecidedAt time.Time
}

// CheckScheduleTickOutcome refuses an outcome [Store.ScheduleTickSetOutcome]
// cannot record: no claim, the zero tick or time, an outcome that is not
// one of the settable ones, or a run id or error that does not go with it.
func CheckScheduleTickOutcome(p *ScheduleTickOutcomeParams) error {
	if p.Claim == "" {
		return errors.New("set tick outcome: no claim: only the scheduler that recorded a tick sets its outcome")
	}
	if p.Tick.IsZero() {
		return errors.New("set tick outcome: tick is the zero time")
	}
	if err := CheckNow(p.Now); err != nil {
		return fmt.Errorf("set tick outcome: %w", err)
	}
	switch p.Outcome {
	case TickFired:
		if p.RunID == "" {
			return errors.New("set tick outcome: a fired tick needs its run id")
		}
	case TickSkippedPaused, TickSkippedOverlap, TickFailed:
		if p.RunID != "" {
			return fmt.Errorf("set tick outcome: a tick %s started no run", p.Outcome)
		}
	default:
		return fmt.Errorf("set tick outcome: %.40q is not an outcome a tick can be set to", string(p.Outcome))
	}
	if (p.Outcome == TickFailed) != (p.Error != "") {
		return errors.New("set tick outcome: a failed tick, and only a failed one, has an error")
	}
	return nil
}

// CheckScheduleTickList refuses a limit out of bounds.
func CheckScheduleTickList(p *ScheduleTickListParams) error {
	if p.Limit < 0 || p.Limit > MaxTickList {
		return fmt.Errorf("list ticks: limit %d is not between 0 and %d", p.Limit, MaxTickList)
	}
	return nil
}

// TickListLimit is the number of ticks p asks for, its default applied.
func TickListLimit(p *ScheduleTickListParams) int {
	if p.Limit == 0 {
		return 100
	}
	return p.Limit
}

// BoundTickError is error text as a tick keeps it: valid UTF-8, control
// and format characters (newlines, escapes, NUL, bidi overrides) turned
// to spaces, and cut on a character boundary to at most [MaxTickError]
// bytes, an ellipsis marking the cut.
func BoundTickError(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= MaxTickError {
		return s
	}
	const mark = "…"
	cut := MaxTickError - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
