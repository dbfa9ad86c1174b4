package pipeline

import (
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	tests := []struct {
		cron  string
		after time.Time
		want  time.Time
	}{
		{"0 2 * * *", utc("2026-03-01T01:00:00Z"), utc("2026-03-01T02:00:00Z")},
		{"0 2 * * *", utc("2026-03-01T02:00:00Z"), utc("2026-03-02T02:00:00Z")},
		{"*/15 * * * *", utc("2026-03-01T10:07:30Z"), utc("2026-03-01T10:15:00Z")},
		{"@daily", utc("2026-03-01T10:00:00Z"), utc("2026-03-02T00:00:00Z")},
		{"@hourly", utc("2026-03-01T10:00:00Z"), utc("2026-03-01T11:00:00Z")},
		{"@every 10m", utc("2026-03-01T10:00:00Z"), utc("2026-03-01T10:10:00Z")},
		{"0 9 * * 1", utc("2026-03-01T10:00:00Z"), utc("2026-03-02T09:00:00Z")}, // 1 March 2026 is a Sunday
		{"0 2 * * *", time.Date(2026, 3, 1, 3, 0, 0, 0, berlin), time.Date(2026, 3, 2, 2, 0, 0, 0, berlin)},
		{"CRON_TZ=Europe/Berlin 0 2 * * *", utc("2026-03-01T12:00:00Z"), utc("2026-03-02T01:00:00Z")},
		{"0 0 30 2 *", utc("2026-03-01T00:00:00Z"), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.cron, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("x.yaml", []byte(base+"schedules: [{cron: '"+tt.cron+"'}]\n"))
			if err != nil {
				t.Fatal(err)
			}
			sched := s.Schedules[0]
			if got := sched.Next(tt.after); !got.Equal(tt.want) {
				t.Errorf("Next(%s) = %s, want %s", tt.after, got, tt.want)
			}
			// A Schedule not made by Parse parses its Cron on each call.
			if got := (Schedule{Cron: tt.cron}).Next(tt.after); !got.Equal(tt.want) {
				t.Errorf("unparsed Next(%s) = %s, want %s", tt.after, got, tt.want)
			}
		})
	}
	if got := (Schedule{Cron: "not cron"}).Next(time.Now()); !got.IsZero() {
		t.Errorf("Next of an invalid schedule = %s, want the zero time", got)
	}
}
