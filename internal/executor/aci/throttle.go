package aci

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"golang.org/x/time/rate"
)

// clock is time as the executor sees it: real, or a test's.
type clock interface {
	Now() time.Time
	// SleepUntil returns at t, or with ctx's error when ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleep waits d on c.
func sleep(ctx context.Context, c clock, d time.Duration) error {
	return c.SleepUntil(ctx, c.Now().Add(d))
}

// Throttling: how often one request is sent again after a 429, and how
// long a hold may be at most, whatever Retry-After says.
const (
	maxThrottledTries = 8
	maxHold           = 5 * time.Minute
	// defaultHold is the hold after a 429 without Retry-After.
	defaultHold = 10 * time.Second
)

// throttle is a per-retry pipeline policy: every request of the executor
// (and every retry of one) takes a token from one bucket first, and a
// 429 holds back every request until its Retry-After has passed, then
// sends the refused one again.
type throttle struct {
	lim    *rate.Limiter
	clock  clock
	logger *slog.Logger

	mu   sync.Mutex
	hold time.Time // no request is sent before this
}

func newThrottle(perSecond float64, burst int, c clock, logger *slog.Logger) *throttle {
	return &throttle{lim: rate.NewLimiter(rate.Limit(perSecond), burst), clock: c, logger: logger}
}

var _ policy.Policy = (*throttle)(nil)

// Do implements [policy.Policy].
func (t *throttle) Do(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	for tries := 1; ; tries++ {
		if err := t.wait(ctx); err != nil {
			return nil, err
		}
		if err := req.RewindBody(); err != nil {
			return nil, err
		}
		resp, err := req.Clone(ctx).Next()
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || tries == maxThrottledTries {
			return resp, err
		}
		d, ok := retryAfter(resp.Header, t.clock.Now())
		if !ok {
			d = defaultHold
		}
		d = min(d, maxHold)
		t.holdFor(d)
		t.logger.Warn("aci: azure is throttling baton's requests; holding every request back",
			"retry_after", d.String(), "method", req.Raw().Method, "try", tries)
		// The refused answer is dropped: the request is sent again.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

// wait returns when a request may be sent: after any hold, with a token.
func (t *throttle) wait(ctx context.Context) error {
	for {
		t.mu.Lock()
		hold := t.hold
		t.mu.Unlock()
		now := t.clock.Now()
		if now.Before(hold) {
			if err := t.clock.SleepUntil(ctx, hold); err != nil {
				return err
			}
			continue
		}
		r := t.lim.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			if err := t.clock.SleepUntil(ctx, now.Add(d)); err != nil {
				r.CancelAt(t.clock.Now())
				return err
			}
		}
		// A hold set while this request waited for its token applies to
		// it too.
		t.mu.Lock()
		hold = t.hold
		t.mu.Unlock()
		if !t.clock.Now().Before(hold) {
			return nil
		}
	}
}

// holdFor holds every request back for d from now, unless a longer hold
// is already set.
func (t *throttle) holdFor(d time.Duration) {
	until := t.clock.Now().Add(d)
	t.mu.Lock()
	if until.After(t.hold) {
		t.hold = until
	}
	t.mu.Unlock()
}

// retryAfter reads how long Azure asks to wait: retry-after-ms or
// x-ms-retry-after-ms in milliseconds, else Retry-After in seconds or as
// an HTTP date. It reports false when no header says, or none parses.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	for _, name := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms >= 0 && ms <= int64(maxHold/time.Millisecond) {
				return time.Duration(ms) * time.Millisecond, true
			} else if err == nil && ms > 0 {
				return maxHold, true
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(maxHold/time.Second) {
			return maxHold, true
		}
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(at.Sub(now), 0), maxHold), true
	}
	return 0, false
}
