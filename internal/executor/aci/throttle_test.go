package aci

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

// TestRetryAfterHoldsEveryRequest: a 429 holds back the refused request
// and every other request of the executor until its Retry-After has
// passed; then the refused one is sent again and succeeds.
func TestRetryAfterHoldsEveryRequest(t *testing.T) {
	t.Parallel()
	c := newManualClock()
	f := newFakeACI(c)
	var refused atomic.Bool
	f.throttle = func(api string) string {
		if api == "ContainerGroupsClient.NewListByResourceGroupPager" && refused.CompareAndSwap(false, true) {
			return "20"
		}
		return ""
	}
	e := newFakeExecutor(t, f)
	ctx := testContext(t)
	t0 := c.Now()

	pinged := make(chan error, 1)
	go func() { pinged <- e.Ping(ctx) }()
	waitUntil(t, "the refused request waits", func() bool { return c.Sleepers() == 1 })

	waited := make(chan error, 1)
	go func() {
		_, err := e.Wait(ctx, &executor.Handle{Executor: "aci", ID: testRG + "/baton-nothing-here"})
		waited <- err
	}()
	waitUntil(t, "another request waits too", func() bool { return c.Sleepers() == 2 })
	if n := f.count("ContainerGroupsClient.Get"); n != 0 {
		t.Fatalf("%d reads sent during the hold", n)
	}
	c.Advance(19 * time.Second)
	if c.Sleepers() != 2 || f.count("ContainerGroupsClient.Get") != 0 {
		t.Fatalf("requests went out before Retry-After passed")
	}
	c.Advance(time.Second)
	if err := <-pinged; err != nil {
		t.Errorf("Ping after the hold: %v", err)
	}
	if err := <-waited; !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Wait after the hold: %v, want %v", err, executor.ErrNotFound)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) != 3 {
		t.Fatalf("%d requests sent, want the refused list, its retry and the read", len(f.sent))
	}
	for _, at := range f.sent[1:] {
		if at.Sub(t0) < 20*time.Second {
			t.Errorf("a request went out %s after the 429, before its Retry-After of 20s", at.Sub(t0))
		}
	}
}

// TestBurstStaysWithinRate: 100 attempts started at once send no more
// requests than the bucket allows: its burst at once, then the rate.
func TestBurstStaysWithinRate(t *testing.T) {
	t.Parallel()
	const rate, burst = 5, 10
	c := newManualClock()
	f := newFakeACI(c)
	f.startAfter = 2 * time.Second
	e := newFakeExecutor(t, f, func(o *Options) {
		o.RequestRate, o.RequestBurst = rate, burst
		o.PollMin, o.PollMax = time.Second, 4*time.Second
	})
	ctx := testContext(t)
	t0 := c.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Start(ctx, testSpec(t, "s"+strconv.Itoa(i), fakeScript{UntilStopped: true}))
			errs <- err
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for step := 0; ; step++ {
		select {
		case <-done:
		default:
			// Let whoever may send do so, then move on a second.
			waitUntil(t, "the senders wait", func() bool {
				select {
				case <-done:
					return true
				default:
				}
				return c.Sleepers() >= 1 && quiet(f)
			})
			c.Advance(time.Second)
			continue
		}
		break
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) < 200 {
		t.Fatalf("only %d requests for 100 attempts", len(f.sent))
	}
	last := f.sent[len(f.sent)-1]
	for k := 0; t0.Add(time.Duration(k) * time.Second).Before(last.Add(time.Second)); k++ {
		limit := t0.Add(time.Duration(k) * time.Second)
		n := 0
		for _, at := range f.sent {
			if !at.After(limit) {
				n++
			}
		}
		if allowed := burst + rate*k; n > allowed {
			t.Fatalf("%d requests within %ds of the burst, the bucket allows %d", n, k, allowed)
		}
	}
}

// quiet reports whether no request went out for a little while, so the
// time may move on. Waiting too little only weakens the test.
func quiet(f *fakeACI) bool {
	f.mu.Lock()
	before := len(f.sent)
	f.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent) == before
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{map[string]string{"Retry-After": "7"}, 7 * time.Second, true},
		{map[string]string{"Retry-After": " 0 "}, 0, true},
		{map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true},
		{map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0, true},
		{map[string]string{"Retry-After": "999999999999"}, maxHold, true},
		{map[string]string{"Retry-After-Ms": "1500", "Retry-After": "9"}, 1500 * time.Millisecond, true},
		{map[string]string{"X-Ms-Retry-After-Ms": "250"}, 250 * time.Millisecond, true},
		{map[string]string{"Retry-After": "-3"}, 0, false},
		{map[string]string{"Retry-After": "soon"}, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		got, ok := retryAfter(h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%v) = %s, %v; want %s, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "0", "-1", "Mon, 02 Jan 2006 15:04:05 GMT", "1e9", "", "99999999999999999999"} {
		f.Add(s, "")
		f.Add("", s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, after, ms string) {
		h := http.Header{}
		h.Set("Retry-After", after)
		h.Set("Retry-After-Ms", ms)
		d, ok := retryAfter(h, now)
		if d < 0 || d > maxHold {
			t.Fatalf("retryAfter(%q, %q) = %s, outside [0, %s]", after, ms, d, maxHold)
		}
		if !ok && d != 0 {
			t.Fatalf("retryAfter(%q, %q) = %s without a header that says", after, ms, d)
		}
	})
}
