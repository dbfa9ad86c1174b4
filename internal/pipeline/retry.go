package pipeline

import (
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// maxRetries bounds retry.limit; more attempts than this hide a broken step.
const maxRetries = 100

// maxDefaultBackoff bounds the default [Retry.MaxBackoff]: a longer wait
// between attempts is rarely meant unless written out.
const maxDefaultBackoff = time.Hour

// Retry is a step's retry policy.
type Retry struct {
	Limit   int           // extra attempts after the first
	Backoff time.Duration // wait before the first retry; it doubles for each one after
	// MaxBackoff caps the doubled wait. After Parse it is never below Backoff:
	// when the file leaves it out it is 10 × Backoff, at most 1h (but never
	// below Backoff). [Retry.Delay] treats zero the same way, for a Retry
	// not made by Parse.
	MaxBackoff time.Duration
	// ExitCodes are the exit codes, each 1 to 255, after which a failed
	// attempt is retried; empty means every non-zero one. See [Retry.Retryable].
	ExitCodes []int
}

// defaultMaxBackoff is MaxBackoff when the file leaves it out.
func defaultMaxBackoff(backoff time.Duration) time.Duration {
	if backoff >= maxDefaultBackoff/10 {
		return max(backoff, maxDefaultBackoff)
	}
	return 10 * backoff
}

// Delay returns the wait before attempt number attempt, counted from 1, so
// that 2 is the first retry: Backoff × 2^(attempt-2), capped at MaxBackoff.
// It is zero for the first attempt and when Backoff is not above zero, and
// never overflows, however large attempt is.
func (r Retry) Delay(attempt int) time.Duration {
	if attempt < 2 || r.Backoff <= 0 {
		return 0
	}
	limit := r.MaxBackoff
	if limit <= 0 {
		limit = defaultMaxBackoff(r.Backoff)
	}
	d := r.Backoff
	for i := 2; i < attempt && d < limit; i++ {
		if d > limit/2 {
			return limit // doubling would pass the cap, and might overflow
		}
		d *= 2
	}
	return min(d, limit)
}

// Retryable reports whether an attempt that exited with exitCode may be
// retried, limits aside: any non-zero code when ExitCodes is empty, else only
// those listed. Zero, success, is never retryable.
func (r Retry) Retryable(exitCode int) bool {
	return exitCode != 0 && (len(r.ExitCodes) == 0 || slices.Contains(r.ExitCodes, exitCode))
}

func (p *parser) retry(n *yaml.Node, field string) Retry {
	var r Retry
	f, _ := p.fields(n, field, []string{"limit", "backoff", "max_backoff", "exit_codes"})
	if v, ok := f["limit"]; ok {
		r.Limit, _ = p.integer(v, field+".limit", 0, maxRetries)
	}
	if v, ok := f["backoff"]; ok {
		if d, ok := p.duration(v, field+".backoff"); ok {
			if d < 0 {
				p.errorf(v, field+".backoff", "is %s; write zero or more, e.g. 10s", d)
			}
			r.Backoff = d
		}
	}
	r.MaxBackoff = defaultMaxBackoff(max(r.Backoff, 0))
	if v, ok := f["max_backoff"]; ok {
		if d, ok := p.duration(v, field+".max_backoff"); ok {
			if d < r.Backoff || d < 0 {
				p.errorf(v, field+".max_backoff", "is %s, below backoff (%s); write %s or more, or leave max_backoff out for %s", d, r.Backoff, max(r.Backoff, 0), defaultMaxBackoff(max(r.Backoff, 0)))
			}
			r.MaxBackoff = d
		}
	}
	if v, ok := f["exit_codes"]; ok {
		r.ExitCodes = p.exitCodes(v, field+".exit_codes")
	}
	return r
}

// exitCodes reads a list of distinct exit codes from 1 to 255.
func (p *parser) exitCodes(n *yaml.Node, field string) []int {
	if n = p.resolve(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "is %s; write a list of exit codes from 1 to 255, e.g. [75, 137], or leave exit_codes out to retry after any", DescribeNode(n))
		return nil
	}
	out := make([]int, 0, len(n.Content))
	seen := make(map[int]bool, len(n.Content))
	for i, item := range n.Content {
		code, ok := p.integer(item, fmt.Sprintf("%s[%d]", field, i), 1, 255)
		if !ok {
			continue
		}
		if seen[code] {
			p.errorf(p.resolve(item), fmt.Sprintf("%s[%d]", field, i), "%d is listed twice; list it once", code)
			continue
		}
		seen[code] = true
		out = append(out, code)
	}
	return out
}
