package browsertest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/chromedp/chromedp"
)

// flags is Chromium's whole command line (chromedp adds only
// --remote-debugging-pipe and the first URL, about:blank). It is built here
// rather than from chromedp's defaults so that what the browser does is read
// in one place.
func flags(dataDir, proxy string) []chromedp.ExecAllocatorOption {
	f := chromedp.Flag
	return []chromedp.ExecAllocatorOption{
		// What issue 13 requires. --headless=new is the headless mode of
		// the full browser (the only one left since Chromium 132).
		f("headless", "new"),
		f("no-sandbox", true), // tests run as root, where the sandbox cannot start
		f("disable-gpu", true),
		f("disable-background-networking", true),
		f("user-data-dir", dataDir),

		// No way out. Every request to anything but loopback (which
		// Chromium never proxies) goes to the test's sink, which answers
		// none; nothing but loopback resolves (the rules match IP
		// literals too). WebRTC, which could send UDP around the proxy, is
		// held by the profile's preferences (see [seedProfile]).
		f("proxy-server", "http://"+proxy),
		f("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]"),
		f("disable-quic", true),

		// Nothing of Chromium's own that phones home or updates itself.
		f("disable-component-update", true),
		f("disable-sync", true),
		f("disable-domain-reliability", true),
		f("metrics-recording-only", true),
		f("no-pings", true),
		f("disable-breakpad", true),
		f("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"+
			"AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions"),

		// Quiet: no first-run, default-browser, extension or password UI.
		f("no-first-run", true),
		f("no-default-browser-check", true),
		f("disable-default-apps", true),
		f("disable-extensions", true),
		f("disable-component-extensions-with-background-pages", true),
		f("disable-search-engine-choice-screen", true),
		f("deny-permission-prompts", true),
		f("password-store", "basic"),
		f("mute-audio", true),
		f("enable-automation", true),

		// Deterministic: one size, one scale, one colour profile and
		// language, no scrollbars in screenshots, and a tab in the
		// background runs its timers and live updates as one in front.
		f("window-size", fmt.Sprintf("%d,%d", Width, Height)),
		f("force-device-scale-factor", "1"),
		f("force-color-profile", "srgb"),
		f("hide-scrollbars", true),
		f("lang", "en-US"),
		f("disable-background-timer-throttling", true),
		f("disable-backgrounding-occluded-windows", true),
		f("disable-renderer-backgrounding", true),
		f("disable-hang-monitor", true),
		// /dev/shm is 64 MB in a default container; Chromium crashes
		// when it fills.
		f("disable-dev-shm-usage", true),
	}
}

// seedProfile writes the preferences a fresh profile starts with. WebRTC has
// no command-line switch for it any more: only its preference keeps it from
// sending UDP that the proxy never sees.
func seedProfile(dataDir string) error {
	prefs := `{"webrtc": {"ip_handling_policy": "disable_non_proxied_udp", "multiple_routes_enabled": false, "nonproxied_udp_enabled": false}}`
	dir := filepath.Join(dataDir, "Default")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seed the profile: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Preferences"), []byte(prefs), 0o600); err != nil {
		return fmt.Errorf("seed the profile: %w", err)
	}
	return nil
}
