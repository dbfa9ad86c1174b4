package pipeline

import (
	"math"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	const s, m = time.Second, time.Minute
	tests := []struct {
		name    string
		r       Retry
		attempt int
		want    time.Duration
	}{
		{"first attempt", Retry{Backoff: 10 * s, MaxBackoff: m}, 1, 0},
		{"attempt zero", Retry{Backoff: 10 * s, MaxBackoff: m}, 0, 0},
		{"negative attempt", Retry{Backoff: 10 * s, MaxBackoff: m}, -5, 0},
		{"first retry", Retry{Backoff: 10 * s, MaxBackoff: m}, 2, 10 * s},
		{"second retry doubles", Retry{Backoff: 10 * s, MaxBackoff: m}, 3, 20 * s},
		{"third retry", Retry{Backoff: 10 * s, MaxBackoff: m}, 4, 40 * s},
		{"capped", Retry{Backoff: 10 * s, MaxBackoff: m}, 5, m},
		{"below a cap not a doubling", Retry{Backoff: 10 * s, MaxBackoff: 25 * s}, 3, 20 * s},
		{"cap not a doubling", Retry{Backoff: 10 * s, MaxBackoff: 25 * s}, 4, 25 * s},
		{"cap equals backoff", Retry{Backoff: 10 * s, MaxBackoff: 10 * s}, 9, 10 * s},
		{"no backoff", Retry{MaxBackoff: m}, 3, 0},
		{"negative backoff", Retry{Backoff: -s}, 3, 0},
		{"huge attempt", Retry{Backoff: 10 * s, MaxBackoff: m}, math.MaxInt, m},
		{"huge cap no overflow", Retry{Backoff: s, MaxBackoff: math.MaxInt64}, 200, math.MaxInt64},
		{"huge backoff", Retry{Backoff: math.MaxInt64, MaxBackoff: math.MaxInt64}, 3, math.MaxInt64},
		{"just below overflow", Retry{Backoff: 1 << 61, MaxBackoff: math.MaxInt64}, 3, 1 << 62},
		{"zero cap means default", Retry{Backoff: 10 * s}, 10, 100 * s},
		{"zero cap default at most 1h", Retry{Backoff: 10 * m}, 10, time.Hour},
		{"zero cap default never below backoff", Retry{Backoff: 2 * time.Hour}, 10, 2 * time.Hour},
		{"cap below backoff wins", Retry{Backoff: m, MaxBackoff: s}, 2, s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.r.Delay(tt.attempt); got != tt.want {
				t.Errorf("%+v.Delay(%d) = %s, want %s", tt.r, tt.attempt, got, tt.want)
			}
		})
	}
}

func TestRetryRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		codes []int
		code  int
		want  bool
	}{
		{"any, failure", nil, 1, true},
		{"any, killed", nil, 137, true},
		{"any, signal without code", nil, -1, true},
		{"any, success", nil, 0, false},
		{"empty list is any", []int{}, 2, true},
		{"listed", []int{75, 137}, 137, true},
		{"not listed", []int{75, 137}, 1, false},
		{"listed, success", []int{75}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Retry{Limit: 3, ExitCodes: tt.codes}
			if got := r.Retryable(tt.code); got != tt.want {
				t.Errorf("Retry{ExitCodes: %v}.Retryable(%d) = %t, want %t", tt.codes, tt.code, got, tt.want)
			}
		})
	}
}
