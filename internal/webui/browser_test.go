package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/browsertest"
	"github.com/baton-dev/baton/internal/store"
)

// The UI in a real headless Chromium: one browser and one server for every
// subtest, which run in order and build on each other (the runs the first
// ones start are what the later ones look at). Each page a subtest visits
// must leave no console error; with BATON_UI_SCREENSHOTS set the
// screenshots land in that directory (docs/ui/ is made this way).
func TestBrowser(t *testing.T) {
	b := browsertest.Start(t)
	s := newServer(t)
	u := &ui{b: b, s: s}
	s.seedRuns(18)
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	s.apply(gated(s.bb, gate))

	// What the subtests hand on; a subtest whose input is missing skips.
	var gatedRun string

	t.Run("SignIn", func(t *testing.T) {
		tab := b.NewTab(t)
		u.open(t, tab, "/runs")
		u.wait(t, tab, `location.pathname === "/signin" && new URLSearchParams(location.search).get("next") === "/runs"`, "the sign-in page for /runs")
		u.wait(t, tab, `document.activeElement === document.getElementById("token")`, "the token field focused")
		browsertest.Screenshot(t, tab, "signin")
		u.clean(t, tab, "the sign-in page")
		u.signIn(t, tab, s.tokens[auth.Operator], "ui-operator")
		if got := u.eval(t, tab, `location.pathname`); got != "/runs" {
			t.Fatalf("signed in at %s, want /runs", got)
		}
		u.wait(t, tab, `document.querySelectorAll("#runrows tr").length >= 18`, "the seeded runs listed")
		u.clean(t, tab, "the runs page")
	})

	t.Run("TriggerAndWatch", func(t *testing.T) {
		defer os.WriteFile(gate, nil, 0o644) // for the subtests after a failure
		tab := b.NewTab(t)
		u.open(t, tab, "/pipelines/gated")
		u.do(t, tab, chromedp.SetValue(chromedp.CSS(`#trigger input[name="param.who"]`), "browser"))
		id := u.submit(t, tab, "#start", "")
		run, err := s.st.RunGet(context.Background(), id)
		if err != nil || run.Params["who"] != "browser" {
			t.Fatalf("run %s from the form: %v %+v", id, err, run)
		}
		gatedRun = id
		// The graph follows the run by itself: "wait" turns running.
		u.wait(t, tab, nodeIs("wait", "s-running"), `step "wait" running in the graph`)
		s.waitStep(id, "wait", store.StepRunning)
		// The page opened on the log of the step running then; once
		// "wait" runs, its page follows its log.
		if u.eval(t, tab, `document.getElementById("log-h")?.textContent.startsWith("Log of wait ") && document.getElementById("loglines").dataset.live ? "yes" : ""`) == "" {
			u.open(t, tab, "/runs/"+id+"?step=wait")
		}
		u.wait(t, tab, `!!document.getElementById("loglines")?.dataset.live`, "a live log")
		u.text(t, tab, "#loglines", "waiting")
		u.clean(t, tab, "the running run's page")

		// From here the page must change by itself, in the same document:
		// an observer notes in sessionStorage (which outlives a reload)
		// what it saw appear.
		if seen := u.eval(t, tab, watchJS); seen != "" {
			t.Fatalf("before the gate opened the page already shows %q", seen)
		}
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		u.wait(t, tab, `sessionStorage.getItem("seen") === "done,last"`,
			`"done" in the log and "last" succeeded in the graph, without a reload`)
		if got := s.waitRun(id); got.Status != store.RunSucceeded {
			t.Fatalf("run %s: %s", id, got.Status)
		}
		// Then it loads itself once more, for what only a whole page has.
		u.wait(t, tab, `window.__sameDocument === undefined && document.getElementById("rerun") !== null`, "the page reloaded with the re-run form")
		if got := u.eval(t, tab, `document.getElementById("run-status").textContent`); got != "succeeded" {
			t.Fatalf("run status after the reload: %q", got)
		}
		u.clean(t, tab, "the ended run's page")
	})

	t.Run("Rerun", func(t *testing.T) {
		if gatedRun == "" {
			t.Skip("no run to re-run: TriggerAndWatch failed")
		}
		tab := b.NewTab(t)
		u.open(t, tab, "/runs/"+gatedRun)
		u.do(t, tab,
			chromedp.SetValue(chromedp.CSS("#rerun-from"), "wait"),
			chromedp.SetValue(chromedp.CSS(`#rerun input[name="param.who"]`), "again"),
		)
		id := u.submit(t, tab, `#rerun button[type="submit"]`, gatedRun)
		u.wait(t, tab, fmt.Sprintf(`[...document.querySelectorAll("dl.facts dt")].some((dt) => dt.textContent === "Re-run of" && dt.nextElementSibling.textContent === %q)`, gatedRun),
			"the facts naming the old run")
		got := s.waitRun(id)
		if got.Status != store.RunSucceeded || got.RetryOf != gatedRun || got.Params["who"] != "again" {
			t.Fatalf("re-run: %+v", got)
		}
		attempts, err := s.st.AttemptList(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var ran []string
		for _, a := range attempts {
			ran = append(ran, a.Step)
		}
		slices.Sort(ran)
		if strings.Join(ran, ",") != "last,wait" {
			t.Fatalf("re-run from wait ran %q, want wait,last", ran)
		}
		u.text(t, tab, "#run-status", "succeeded")
		u.wait(t, tab, `document.querySelector("dl.facts .params")?.textContent.includes("who=again")`, "the changed param in the facts")
		u.clean(t, tab, "the re-run's page")
	})

	t.Run("LiveGraphLogAndKeyboard", func(t *testing.T) {
		releaseGate := filepath.Join(dir, "release-gate")
		s.apply(release(s.bb, releaseGate, ""))
		defer os.WriteFile(releaseGate, nil, 0o644)
		run, err := s.eng.Submit(context.Background(), submit("release"))
		if err != nil {
			t.Fatal(err)
		}
		s.waitStep(run.ID, "test", store.StepRunning)
		tab := b.NewTab(t)
		u.open(t, tab, "/runs/"+run.ID+"?step=test")
		u.text(t, tab, "#loglines", "running integration")
		u.wait(t, tab, nodeIs("checkout", "s-succeeded")+" && "+nodeIs("lint", "s-succeeded")+" && "+
			nodeIs("test", "s-running")+" && "+nodeIs("package", "s-pending"), "the fan-in graph mid-run")
		browsertest.Screenshot(t, tab, "run")
		browsertest.MobileScreenshot(t, tab, "run-mobile")
		u.noSideScroll(t, tab, "the run page")

		// Search filters the lines and counts them.
		u.do(t, tab, chromedp.SendKeys(chromedp.CSS("#logsearch"), "unit/"))
		u.text(t, tab, "#logcount", "3 of 5 lines")
		if got := u.eval(t, tab, `[...document.querySelectorAll("#loglines li:not([hidden])")].map((li) => li.querySelector(".tx").textContent).join("|")`); got != "PASS unit/a|PASS unit/b|PASS unit/c" {
			t.Fatalf("lines shown for unit/: %q", got)
		}
		u.do(t, tab, chromedp.Evaluate[chromedp.Void](`document.getElementById("logsearch").value = ""`), chromedp.SendKeys(chromedp.CSS("#logsearch"), "WARNING"))
		u.text(t, tab, "#logcount", "1 of 5 lines")
		if got := u.eval(t, tab, `document.querySelector("#loglines li:not([hidden])").className`); got != "err" {
			t.Fatalf("the stderr line is marked %q, want err", got)
		}
		// The download link gives the whole log as text.
		href := u.eval(t, tab, `document.querySelector("#log a[download]").getAttribute("href")`)
		if want := "/runs/" + run.ID + "/steps/test/log.txt"; href != want {
			t.Fatalf("download link %q, want %q", href, want)
		}
		text, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(document.querySelector("#log a[download]").href).then((r) => r.ok ? r.text() : "HTTP " + r.status)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, " stdout PASS unit/b\n") || !strings.Contains(text, " stderr warning: slow test\n") {
			t.Fatalf("downloaded log:\n%s", text)
		}
		u.clean(t, tab, "the release run's page")

		// Keyboard: the first Tab reaches the skip link, shown when
		// focused; Enter on a graph node opens that step's log.
		u.open(t, tab, "/runs/"+run.ID)
		u.do(t, tab, chromedp.KeyEvent("\t"))
		u.wait(t, tab, `document.activeElement.matches("a.skip[href='#main']") && document.activeElement.getBoundingClientRect().left >= 0`, "the skip link focused and shown")
		u.do(t, tab, chromedp.KeyEvent("\r"))
		u.wait(t, tab, `location.hash === "#main"`, "the skip link followed")
		u.do(t, tab, chromedp.Focus(chromedp.CSS(`a.node[data-step="lint"]`)))
		u.wait(t, tab, `document.activeElement.matches('a.node[data-step="lint"]')`, "the graph node focused")
		// A live update (the running step's time ticks) keeps the focus.
		before := u.eval(t, tab, `document.getElementById("live").textContent`)
		u.wait(t, tab, fmt.Sprintf(`document.getElementById("live").textContent !== %q`, before), "a live update of the run")
		u.wait(t, tab, `document.activeElement.matches('a.node[data-step="lint"]')`, "the graph node still focused after a live update")
		u.do(t, tab, chromedp.KeyEvent("\r"))
		u.wait(t, tab, `new URLSearchParams(location.search).get("step") === "lint" && document.getElementById("log-h")?.textContent.startsWith("Log of lint")`, "the log of lint")
		u.text(t, tab, "#loglines", "lint ok")
		u.clean(t, tab, "the log of lint")

		if err := os.WriteFile(releaseGate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := s.waitRun(run.ID); got.Status != store.RunSucceeded {
			t.Fatalf("release run: %s", got.Status)
		}
		u.wait(t, tab, nodeIs("publish", "s-succeeded"), "the graph of the ended run")
		u.clean(t, tab, "the ended release run")
	})

	t.Run("ApprovalKeepsWhatIsTyped", func(t *testing.T) {
		// A step runs beside the approval, so the live part of the page,
		// the approval form with it, is rendered again every moment.
		slowGate := filepath.Join(dir, "ship-gate")
		s.apply(`
name: ship
steps:
  - name: slow
    command: ` + command(s.bb, `while [ ! -e `+slowGate+` ]; do sleep 0.05; done`) + `
  - name: after
    command: ` + command(s.bb, `echo after`) + `
  - name: gate
    needs: []
    approval: {message: "Ship it?"}
`)
		defer os.WriteFile(slowGate, nil, 0o644)
		run, err := s.eng.Submit(context.Background(), submit("ship"))
		if err != nil {
			t.Fatal(err)
		}
		s.waitStep(run.ID, "slow", store.StepRunning)
		tab := b.NewTab(t)
		u.open(t, tab, "/runs/"+run.ID)
		const form = `document.querySelector('#live form[action$="/steps/gate/approval"]')`
		u.wait(t, tab, form+` !== null`, "the approval form")
		u.do(t, tab,
			chromedp.SendKeys(chromedp.CSS(`#live form[action$="/steps/gate/approval"] input[name="reason"]`), "looks good"),
			chromedp.SendKeys(chromedp.CSS(`#live form[action$="/steps/gate/approval"] textarea[name="values"]`), "region=eu"),
		)
		before := u.eval(t, tab, `document.getElementById("live").textContent`)
		u.wait(t, tab, fmt.Sprintf(`document.getElementById("live").textContent !== %q`, before), "a live update of the run")
		if got := u.eval(t, tab, form+`.reason.value + "|" + `+form+`.values.value + "|" + (document.activeElement === `+form+`.values)`); got != "looks good|region=eu|true" {
			t.Fatalf("after a live update the form has (reason|values|values focused) %q", got)
		}
		// The run moves on to another step's log: the page, which would
		// load that log, stays as it is and links to it instead.
		u.eval(t, tab, `(window.__sameDocument = true, "")`)
		if err := os.WriteFile(slowGate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		u.wait(t, tab, nodeIs("after", "s-succeeded"), "step after succeeded in the graph")
		u.wait(t, tab, `document.getElementById("lognext")?.hidden === false && document.querySelector("#lognext a").getAttribute("href") === "?step=after#log"`, "the link to the log of after")
		if got := u.eval(t, tab, `(window.__sameDocument === true) + "|" + `+form+`.reason.value + "|" + `+form+`.values.value`); got != "true|looks good|region=eu" {
			t.Fatalf("after the run moved on the page has (same document|reason|values) %q", got)
		}
		// Typing goes on where it was, and the decision carries it all.
		u.do(t, tab, chromedp.KeyEvent("2"))
		u.do(t, tab, chromedp.Click(chromedp.CSS(`#live form[action$="/steps/gate/approval"] button[value="approve"]`)))
		waitFor(t, "the decision", func() bool {
			a, err := s.st.ApprovalGet(context.Background(), run.ID, "gate")
			return err == nil && a.Decided()
		})
		a, err := s.st.ApprovalGet(context.Background(), run.ID, "gate")
		if err != nil || !a.Approved || a.Reason != "looks good" || a.Values["region"] != "eu2" {
			t.Fatalf("decision: %v %+v", err, a)
		}
		if got := s.waitRun(run.ID); got.Status != store.RunSucceeded {
			t.Fatalf("ship run: %s", got.Status)
		}
		u.clean(t, tab, "the ship run's page")
	})

	t.Run("Pages", func(t *testing.T) {
		// A second revision with a schedule, for the pipeline's diff.
		s.apply(release(s.bb, filepath.Join(dir, "release-gate"), "schedules:\n  - cron: \"30 4 * * 1-5\"\n    overlap: queue\n"))
		tab := b.NewTab(t)
		u.open(t, tab, "/runs")
		u.wait(t, tab, `document.querySelectorAll("#runrows tr").length >= 21`, "every run listed")
		browsertest.Screenshot(t, tab, "runs")
		u.noSideScroll(t, tab, "the runs page")
		u.clean(t, tab, "the runs page")

		u.open(t, tab, "/pipelines/release")
		u.text(t, tab, "main", "Revision 1 → 2")
		u.wait(t, tab, `document.querySelectorAll("table.diff tr.ins").length > 0 && [...document.querySelectorAll("main td code")].some((c) => c.textContent === "30 4 * * 1-5")`, "the diff and the schedule")
		browsertest.Screenshot(t, tab, "pipeline")
		u.noSideScroll(t, tab, "the pipeline page")
		u.clean(t, tab, "the pipeline page")

		u.open(t, tab, "/health")
		u.text(t, tab, "main", "Dead runs")
		u.wait(t, tab, `document.querySelectorAll(".chart rect.bar").length > 0`, "the chart of runs per day")
		browsertest.Screenshot(t, tab, "health")
		u.noSideScroll(t, tab, "the health page")
		u.clean(t, tab, "the health page")
	})

	t.Run("Injection", func(t *testing.T) {
		shown, ended := filepath.Join(dir, "inject-print"), filepath.Join(dir, "inject-end")
		s.apply(injecting(s.bb, shown, ended))
		defer os.WriteFile(shown, nil, 0o644)
		defer os.WriteFile(ended, nil, 0o644)
		tab := b.NewTab(t)
		u.open(t, tab, "/pipelines/inject")
		u.do(t, tab, chromedp.SetValue(chromedp.CSS(`#trigger input[name="param.note"]`), paramScript))
		id := u.submit(t, tab, "#start", "")
		s.waitStep(id, "show", store.StepRunning)
		u.open(t, tab, "/runs/"+id+"?step=show")
		u.wait(t, tab, `!!document.getElementById("loglines")?.dataset.live`, "a live log")
		// What the step prints comes in through the live stream.
		if err := os.WriteFile(shown, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		u.wait(t, tab, fmt.Sprintf(`document.getElementById("loglines").textContent.includes(%q)`, "note="+paramScript), "the last line printed")
		u.harmless(t, tab, id, "the live log")
		// And once the run ended, the page rendered whole.
		if err := os.WriteFile(ended, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		s.waitRun(id)
		u.text(t, tab, "#run-status", "succeeded")
		u.wait(t, tab, `document.querySelector("table.vars") !== null`, "the variables of the ended run")
		u.harmless(t, tab, id, "the ended run's page")
		if got := u.eval(t, tab, `document.querySelector("table.vars").textContent`); !strings.Contains(got, paramScript) {
			t.Fatalf("the variables do not show the param as text: %q", got)
		}
		u.open(t, tab, "/runs?param="+url.QueryEscape("note="+paramScript))
		u.wait(t, tab, fmt.Sprintf(`document.getElementById("runrows").textContent.includes(%q)`, "note="+paramScript), "the param in the runs list")
		u.wait(t, tab, `typeof window.__pwned === "undefined" && document.querySelectorAll("main script, main img").length === 0`, "no script ran")
		u.clean(t, tab, "the runs page with the param")
	})

	t.Run("Viewer", func(t *testing.T) {
		if gatedRun == "" {
			t.Skip("no ended run to look at: TriggerAndWatch failed")
		}
		held := filepath.Join(dir, "held")
		s.apply(strings.Replace(gated(s.bb, held), "name: gated", "name: held", 1))
		defer os.WriteFile(held, nil, 0o644)
		running, err := s.eng.Submit(context.Background(), submit("held"))
		if err != nil {
			t.Fatal(err)
		}
		s.waitStep(running.ID, "wait", store.StepRunning)
		pages := []string{"/runs", "/runs/" + running.ID, "/runs/" + gatedRun, "/pipelines/gated", "/pipelines/held"}
		const forms = `document.querySelectorAll("main form[method=post]").length`

		// The operator's pages have the forms the viewer's must not.
		tab := b.NewTab(t)
		for _, p := range pages[1:] {
			u.open(t, tab, p)
			if n := u.eval(t, tab, forms+` + ""`); n == "0" {
				t.Fatalf("the operator's %s has no form: the check below would prove nothing", p)
			}
			u.clean(t, tab, "the operator's "+p)
		}

		// Sign out, and in again as a viewer.
		u.do(t, tab, chromedp.Click(chromedp.CSS(`header form[action="/signout"] button`)))
		u.wait(t, tab, `location.pathname === "/signin"`, "the sign-in page after signing out")
		u.signIn(t, tab, s.tokens[auth.Viewer], "ui-viewer")
		for _, p := range pages {
			u.open(t, tab, p)
			u.wait(t, tab, `document.querySelector("main h1") !== null`, p)
			if n := u.eval(t, tab, forms+` + ""`); n != "0" {
				t.Fatalf("the viewer's %s has %s forms that change something", p, n)
			}
			for _, sel := range []string{"#cancel", "#rerun", "#trigger", "#start", `main a.button[href="/pipelines"]`} {
				if u.eval(t, tab, fmt.Sprintf(`document.querySelector(%q) === null ? "" : "there"`, sel)) != "" {
					t.Fatalf("the viewer's %s has %s", p, sel)
				}
			}
			u.clean(t, tab, "the viewer's "+p)
		}
		// The viewer still sees the run: its graph and its state.
		u.open(t, tab, "/runs/"+running.ID)
		u.wait(t, tab, nodeIs("wait", "s-running"), "the running step in the viewer's graph")
		u.clean(t, tab, "the viewer's running run")
	})

	if out := outside(b.OutsideRequests()); len(out) != 0 {
		t.Errorf("pages asked for outside addresses: %q", out)
	}
}

// ui is the browser and server the subtests share, and how far the console
// errors have been checked.
type ui struct {
	b    *browsertest.Browser
	s    *server
	mark int
}

// waitTimeout bounds one wait for a page to show something; only a broken
// page comes near it.
const waitTimeout = 30 * time.Second

// do runs actions in the tab one by one, failing t on error. An action
// that found its element just before a live update replaced it fails
// before it did anything, and is tried again on the new element.
func (u *ui) do(t *testing.T, tab context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	defer cancel()
	for _, a := range actions {
		for {
			err := chromedp.Do(ctx, a)
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "node with given id") || ctx.Err() != nil {
				t.Fatal(err)
			}
		}
	}
}

// open loads a page of the server and waits until it has loaded.
func (u *ui) open(t *testing.T, tab context.Context, path string) {
	t.Helper()
	u.do(t, tab, chromedp.Navigate(u.s.URL+path))
	u.wait(t, tab, `document.readyState === "complete"`, path+" loaded")
}

// eval returns what a JavaScript expression gives as a string.
func (u *ui) eval(t *testing.T, tab context.Context, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait waits until a JavaScript expression is true, through navigations.
func (u *ui) wait(t *testing.T, tab context.Context, expr, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	defer cancel()
	var lastErr error
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// An error is mostly a page between two documents; the next try
		// runs in the new one.
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		if err == nil && ok {
			return
		}
		if err != nil && ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			loc, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 600)`))
			t.Fatalf("wait for %s: %v (last error: %v); the page:\n%s", what, ctx.Err(), lastErr, loc)
		case <-tick.C:
		}
	}
}

// text waits until the first element matching selector shows substring.
func (u *ui) text(t *testing.T, tab context.Context, selector, substring string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	defer cancel()
	if err := browsertest.WaitText(ctx, selector, substring); err != nil {
		t.Fatal(err)
	}
}

// clean fails t if a page reported an error since the last check, or if
// the tab's page loaded anything from another origin.
func (u *ui) clean(t *testing.T, tab context.Context, where string) {
	t.Helper()
	errs := u.b.ConsoleErrors()
	if fresh := errs[u.mark:]; len(fresh) != 0 {
		t.Errorf("console errors on %s: %q", where, fresh)
	}
	u.mark = len(errs)
	if got := u.eval(t, tab, `performance.getEntriesByType("resource").map((e) => e.name).filter((n) => !n.startsWith(location.origin + "/")).join(" ")`); got != "" {
		t.Errorf("%s loaded from elsewhere: %s", where, got)
	}
}

// outside are the requests for outside addresses that did not come from
// Chromium's own services (its updater, clock and accounts), which it asks
// for whatever the flags say; the sink refused them all anyway.
func outside(requests []string) []string {
	var out []string
	for _, r := range requests {
		_, target, _ := strings.Cut(r, " ")
		host := target
		if u, err := url.Parse(target); err == nil && u.Host != "" {
			host = u.Hostname()
		} else if h, _, ok := strings.Cut(target, ":"); ok {
			host = h
		}
		if strings.HasSuffix(host, ".google.com") || strings.HasSuffix(host, ".googleapis.com") || strings.HasSuffix(host, ".gvt1.com") {
			continue
		}
		out = append(out, r)
	}
	return out
}

// signIn types a token into the sign-in page in the tab and submits it.
func (u *ui) signIn(t *testing.T, tab context.Context, token, name string) {
	t.Helper()
	u.wait(t, tab, `location.pathname === "/signin" && document.readyState === "complete"`, "the sign-in page")
	u.do(t, tab,
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
	)
	u.text(t, tab, "header .who .role", name)
}

// submit clicks a form's button and returns the run whose page it lands on,
// which must be another than was.
func (u *ui) submit(t *testing.T, tab context.Context, button, was string) string {
	t.Helper()
	u.do(t, tab, chromedp.Click(chromedp.CSS(button)))
	u.wait(t, tab, fmt.Sprintf(`/^\/runs\/[^\/]+$/.test(location.pathname) && location.pathname !== "/runs/" + %q && document.readyState === "complete"`, was), "a run's page")
	id := strings.TrimPrefix(u.eval(t, tab, `location.pathname`), "/runs/")
	if _, err := u.s.st.RunGet(context.Background(), id); err != nil {
		t.Fatalf("landed on /runs/%s: %v", id, err)
	}
	return id
}

// noSideScroll fails t if the tab's page scrolls sideways at 360 px.
func (u *ui) noSideScroll(t *testing.T, tab context.Context, what string) {
	t.Helper()
	browsertest.SetViewport(t, tab, browsertest.MobileWidth, browsertest.MobileHeight, true)
	defer browsertest.SetViewport(t, tab, browsertest.Width, browsertest.Height, false)
	got := u.eval(t, tab, `document.documentElement.clientWidth + " " + document.documentElement.scrollWidth`)
	var client, scroll int
	if _, err := fmt.Sscan(got, &client, &scroll); err != nil {
		t.Fatalf("read widths %q: %v", got, err)
	}
	if client > browsertest.MobileWidth+2 || scroll > browsertest.MobileWidth+2 {
		t.Errorf("%s at %d px: %d px wide, scrolls to %d px", what, browsertest.MobileWidth, client, scroll)
	}
}

// harmless checks that what a step printed and a param carried is on the
// run's page as text, and that none of it ran.
func (u *ui) harmless(t *testing.T, tab context.Context, id, where string) {
	t.Helper()
	log := u.eval(t, tab, `document.getElementById("loglines").textContent`)
	for _, want := range []string{logScript, logImage, "note=" + paramScript} {
		if !strings.Contains(log, want) {
			t.Errorf("%s: the log does not show %q as text:\n%s", where, want, log)
		}
	}
	if got := u.eval(t, tab, `document.querySelector("dl.facts .params").textContent`); !strings.Contains(got, "note="+paramScript) {
		t.Errorf("%s: the facts do not show the param as text: %q", where, got)
	}
	if got := u.eval(t, tab, `typeof window.__pwned + " " + document.querySelectorAll("main script, main img, main [onerror]").length`); got != "undefined 0" {
		t.Errorf("%s: injected markup is live (typeof __pwned, elements): %s", where, got)
	}
	u.clean(t, tab, where+" of run "+id)
}

// nodeIs is a JavaScript check that the graph's node for step has class.
func nodeIs(step, class string) string {
	return fmt.Sprintf(`document.querySelector('a.node[data-step=%q]')?.classList.contains(%q) === true`, step, class)
}

// watchJS marks the document and records in sessionStorage, as it appears
// in this document, the line "done" in the log (seen "done") and the
// graph's "last" succeeded (seen "last"). It returns what is seen already.
const watchJS = `(() => {
  window.__sameDocument = true;
  const seen = new Set();
  const check = () => {
    if (document.getElementById("loglines")?.textContent.includes("done")) seen.add("done");
    if (document.querySelector('a.node[data-step="last"]')?.classList.contains("s-succeeded")) seen.add("last");
    sessionStorage.setItem("seen", [...seen].sort().join(","));
  };
  check();
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  return sessionStorage.getItem("seen");
})()`

// release is a pipeline with a fan-out and a fan-in: checkout, then lint
// and test at once, then package once both ended, then publish. Step test
// prints coloured lines and one to stderr, then waits for the file gate.
// extra is YAML added at the top level.
func release(bb, gate, extra string) string {
	sh := func(script string) string { return command(bb, script) }
	return `
name: release
description: check, build and publish a release
params:
  version: {default: "1.4.2"}
vars:
  version: "{{ .Params.version }}"
` + extra + `steps:
  - name: checkout
    command: ` + sh(`echo fetching sources; echo commit=3f9c2e1 >> "$BATON_OUTPUT"`) + `
  - name: lint
    needs: [checkout]
    command: ` + sh(`echo lint ok`) + `
  - name: test
    needs: [checkout]
    command: ` + sh(`printf '\033[32mPASS\033[0m unit/%s\n' a b c; echo 'warning: slow test' >&2; echo running integration; while [ ! -e `+gate+` ]; do sleep 0.05; done; echo all tests passed`) + `
  - name: package
    needs: [lint, test]
    command: ` + sh(`echo packaging "$BATON_VAR_version" at "$BATON_VAR_commit"`) + `
  - name: publish
    command: ` + sh(`echo published`) + `
`
}

// What the injection test makes a step print and a trigger pass.
const (
	logScript   = `<script>window.__pwned=1</script>`
	logImage    = `<img src=x onerror="window.__pwned=2">`
	paramScript = `<script>window.__pwned=3</script>`
)

// injecting is a pipeline whose step waits for the file shown, prints
// markup and its param, then waits for the file ended.
func injecting(bb, shown, ended string) string {
	script := fmt.Sprintf(`while [ ! -e %s ]; do sleep 0.05; done; echo '%s'; echo '%s' >&2; echo "note=$BATON_VAR_note"; while [ ! -e %s ]; do sleep 0.05; done`,
		shown, logScript, logImage, ended)
	return `
name: inject
params:
  note: {default: "hello"}
vars:
  note: "{{ .Params.note }}"
steps:
  - name: show
    command: ` + command(bb, script) + `
`
}

// command is a step's command running script in busybox's sh, as YAML
// (JSON is YAML), with <, > and & left as they are to read well in a diff.
func command(bb, script string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode([]string{bb, "sh", "-c", script})
	return strings.TrimSpace(buf.String())
}
