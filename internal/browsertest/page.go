package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The viewport of [MobileScreenshot]: the narrowest phone issue 13 must
// stay readable on.
const (
	MobileWidth  = 360
	MobileHeight = 740
)

// ScreenshotsEnv names the directory where [Screenshot] writes its PNGs.
const ScreenshotsEnv = "BATON_UI_SCREENSHOTS"

// screenshotName is what a screenshot may be called: a plain file name.
var screenshotName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Screenshot takes a PNG of the whole page in ctx's tab, beyond the
// viewport, and returns it. With $BATON_UI_SCREENSHOTS set it also writes it
// there as NAME.png (how docs/ui/ is regenerated); without, it is only
// taken and checked, so the path runs in every test.
func Screenshot(t testing.TB, ctx context.Context, name string) []byte {
	t.Helper()
	if !screenshotName.MatchString(name) {
		t.Fatalf("browsertest: screenshot name %q: use lowercase letters, digits, '.', '_' and '-'", name)
	}
	img, err := chromedp.Run(ctx, fullPage)
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	if _, err := png.DecodeConfig(bytes.NewReader(img)); err != nil {
		t.Fatalf("browsertest: screenshot %s is no PNG: %v", name, err)
	}
	if dir := os.Getenv(ScreenshotsEnv); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("browsertest: screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
			t.Fatalf("browsertest: screenshot %s: %v", name, err)
		}
	}
	return img
}

// fullPage captures the whole document as PNG, clipped to its content
// size: the viewport alone would cut it.
func fullPage(ctx context.Context, tgt *chromedp.Target) ([]byte, error) {
	m, err := cdp.Call(ctx, tgt, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	size := m.CSSContentSize
	if size == nil {
		return nil, errors.New("the browser reported no content size")
	}
	r, err := cdp.Call(ctx, tgt, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: new(true),
		FromSurface:           new(true),
		Clip:                  &page.Viewport{Width: math.Ceil(size.Width), Height: math.Ceil(size.Height), Scale: 1},
	})
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// MobileScreenshot is [Screenshot] at [MobileWidth]x[MobileHeight] as a
// phone shows it (a page without a viewport meta tag lays out 980 px wide
// and shrinks). The tab is at [Width]x[Height] again afterwards.
func MobileScreenshot(t testing.TB, ctx context.Context, name string) []byte {
	t.Helper()
	SetViewport(t, ctx, MobileWidth, MobileHeight, true)
	img := Screenshot(t, ctx, name)
	SetViewport(t, ctx, Width, Height, false)
	return img
}

// SetViewport makes ctx's tab width x height CSS pixels; mobile makes it
// honour the page's viewport meta tag as a phone does.
func SetViewport(t testing.TB, ctx context.Context, width, height int64, mobile bool) {
	t.Helper()
	if err := chromedp.Do(ctx, viewport(width, height, mobile)); err != nil {
		t.Fatalf("browsertest: set viewport %dx%d: %v", width, height, err)
	}
}

func viewport(width, height int64, mobile bool) chromedp.Action[chromedp.Void] {
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	return chromedp.EmulateViewport(width, height, opts...)
}

// textJS is the check of [WaitText]: the rendered text of the first element
// that the selector finds, and whether there is one.
const textJS = `((sel) => { const e = document.querySelector(sel); return e === null ? {found: false, text: ""} : {found: true, text: e.innerText}; })(%s)`

// WaitText waits until the first element matching the CSS selector shows a
// text containing substring, through reloads and navigations, until ctx
// ends. The error tells what the element showed last.
func WaitText(ctx context.Context, selector, substring string) error {
	sel, err := json.Marshal(selector) // a JSON string is a JavaScript string literal
	if err != nil {
		return err
	}
	expr := fmt.Sprintf(textJS, sel)
	type result struct {
		Found bool   `json:"found"`
		Text  string `json:"text"`
	}
	var last result
	var lastErr error
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// An error here is mostly a page between two documents; the next
		// try runs in the new one.
		r, err := chromedp.Run(ctx, chromedp.Evaluate[result](expr))
		switch {
		case err == nil:
			last, lastErr = r, nil
			if r.Found && strings.Contains(r.Text, substring) {
				return nil
			}
		case ctx.Err() == nil: // not the end of ctx itself
			lastErr = err
		}
		select {
		case <-ctx.Done():
			switch {
			case lastErr != nil && !last.Found:
				return fmt.Errorf("wait for %q in %s: %w (last try: %v)", substring, selector, ctx.Err(), lastErr)
			case !last.Found:
				return fmt.Errorf("wait for %q in %s: %w: no element matches", substring, selector, ctx.Err())
			}
			return fmt.Errorf("wait for %q in %s: %w: it shows %q", substring, selector, ctx.Err(), clip(last.Text))
		case <-tick.C:
		}
	}
}

// clip shortens a page's text for an error message.
func clip(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
