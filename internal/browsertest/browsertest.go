// Package browsertest drives a real headless Chromium (Debian's chromium
// package) from tests through chromedp. [Start] launches one browser per
// test with a fresh profile, no way out to the internet and nothing left
// running afterwards; [Browser.NewTab] opens tabs on it; the browser collects
// every console error and Content-Security-Policy violation of its pages so
// that a test can require none.
//
// Like the Docker tests, a test without Chromium skips, unless
// BATON_TEST_BROWSER=1 (CI), where it fails: a green run means it ran.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Window size of every tab unless a test changes it ([SetViewport],
// [MobileScreenshot]).
const (
	Width  = 1280
	Height = 900
)

// TabTimeout bounds everything a tab does: its context ends this long after
// [Browser.NewTab]. It only keeps a stuck test from hanging; no test should
// come near it.
const TabTimeout = 60 * time.Second

// startTimeout bounds the launch of the browser, for the same reason.
const startTimeout = 60 * time.Second

// Browser is one running Chromium, owned by the test that started it.
type Browser struct {
	ctx     context.Context // chromedp context of the browser (its first tab)
	root    string          // the test's directory for it: profile, home, tmp
	dataDir string          // --user-data-dir
	sink    *sink
	out     *tail
	stopped sync.Once
	close   func() // stops the browser now; t's cleanup then does nothing

	mu      sync.Mutex
	console []string // console errors and CSP violations, in order
}

// Start launches headless Chromium for t and stops it in t's cleanup,
// checking that none of its processes is left. The binary is
// $BATON_TEST_CHROMIUM, else /usr/bin/chromium, else chromium on PATH;
// without one t skips, or fails under BATON_TEST_BROWSER=1. Nothing is ever
// downloaded.
func Start(t testing.TB) *Browser {
	t.Helper()
	b, err := launch(t)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// launch starts the browser and registers its cleanup on t.
func launch(t testing.TB) (*Browser, error) {
	t.Helper()
	bin := chromium(t)
	// Registered first, so removed last: after every process writing in it
	// is gone.
	dir := t.TempDir()
	b := &Browser{root: dir, dataDir: filepath.Join(dir, "profile"), out: &tail{}}
	home := filepath.Join(dir, "home")
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{b.dataDir, home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("browsertest: %w", err)
		}
	}
	if err := seedProfile(b.dataDir); err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	s, err := startSink()
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	b.sink = s

	opts := append(flags(b.dataDir, s.addr()),
		chromedp.ExecPath(bin),
		chromedp.CombinedOutput(b.out),
		// Only what Chromium needs: no secrets of the test's environment,
		// no writes to the real home, UTC for stable screenshots.
		chromedp.NoInheritEnv,
		chromedp.Env(
			"PATH="+os.Getenv("PATH"),
			"HOME="+home,
			"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
			"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
			"TMPDIR="+tmp,
			"TZ=UTC",
			"LANG=C.UTF-8",
		),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b.ctx = ctx
	t.Cleanup(func() { b.stop(t, cancel, cancelAlloc) })
	b.close = func() { b.stop(t, cancel, cancelAlloc) }

	began := time.Now()
	started := make(chan error, 1)
	// The first Do launches the process and ties it to ctx, so it gets no
	// deadline of its own; the timer below bounds it instead.
	go func() { started <- chromedp.Do(ctx) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case err := <-started:
		if err != nil {
			return nil, b.failure("start chromium %s: %w", bin, err)
		}
	case <-timer.C:
		cancelAlloc()
		<-started
		return nil, b.failure("start chromium %s: no answer after %s", bin, startTimeout)
	}
	t.Logf("browsertest: %s started in %s", bin, time.Since(began).Round(time.Millisecond))
	return b, nil
}

// NewTab opens a tab in its own window with a [Width]x[Height] viewport and
// returns its chromedp context, which ends after [TabTimeout] or in t's
// cleanup, where the tab is closed.
func (b *Browser) NewTab(t testing.TB) context.Context {
	t.Helper()
	tabCtx, cancelTab := chromedp.NewContext(b.ctx, chromedp.WithListener(b.record))
	ctx, cancel := context.WithTimeout(tabCtx, TabTimeout)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	// The first Do opens the tab and ties it to ctx. The window's size
	// includes room for a browser frame headless never draws, so the
	// viewport is set on its own.
	if err := chromedp.Do(ctx, viewport(Width, Height, false)); err != nil {
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	return ctx
}

// ConsoleErrors returns, in order, what the pages of every tab reported as an
// error: console.error and failed console.assert calls, uncaught exceptions,
// failed loads, and each Content-Security-Policy violation (also in
// report-only mode). A page that works leaves it empty.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.console)
}

// OutsideRequests returns the requests that pages sent to anything but
// loopback, as "METHOD target". Chromium sends them to a proxy of the test
// that answers none, so they fail instead of leaving the machine.
func (b *Browser) OutsideRequests() []string {
	return b.sink.requests()
}
