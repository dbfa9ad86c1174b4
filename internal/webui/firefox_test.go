package webui_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/browsertest"
)

// TestFirefox repeats, in headless Firefox ESR over WebDriver BiDi, the
// heart of the Chromium tests: sign in through the form, start a run from
// its form, see the log's new line arrive in the open page and the page
// follow the run to its end, and a param's markup shown as text.
func TestFirefox(t *testing.T) {
	f := browsertest.StartFirefox(t)
	s := newServer(t)
	gate := filepath.Join(t.TempDir(), "gate")
	s.apply(gated(s.bb, gate))
	defer os.WriteFile(gate, nil, 0o644)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	js := func(expr string) any {
		t.Helper()
		v, err := f.Eval(expr)
		must(err)
		return v
	}

	// Sign in through the form.
	must(f.Navigate(s.URL + "/runs"))
	must(f.WaitTrue(`location.pathname === "/signin" && document.getElementById("token") !== null`))
	js(fmt.Sprintf(`document.getElementById("token").value = %q; document.querySelector("form[action='/signin'] button").click(); true`, s.tokens[auth.Operator]))
	must(f.WaitTrue(`location.pathname === "/runs" && document.body.textContent.includes("ui-operator")`))

	// Start a run from the pipeline's form, with a hostile param.
	must(f.Navigate(s.URL + "/pipelines/gated"))
	js(`document.querySelector("input[name='param.who']").value = "<img src=x onerror=window.__pwned=1>"; document.getElementById("start").click(); true`)
	must(f.WaitTrue(`location.pathname.startsWith("/runs/") && document.querySelector("a.node[data-step=wait]") !== null`))
	// Scripts below run between the page's own reloads: each wait is
	// retried until it holds.
	if err := f.WaitTrue(`document.querySelector("a.node[data-step=wait]").classList.contains("s-running") && document.getElementById("loglines").textContent.includes("waiting")`); err != nil {
		t.Fatalf("%v\n%v\n%v", err, js(`document.querySelector("a.node[data-step=wait]")?.getAttribute("class")`), js(`document.getElementById("log")?.outerHTML`))
	}

	// Watch the page: what it shows is noted in sessionStorage, which
	// outlives the reload the page makes once the run ended.
	js(`sessionStorage.clear();
		new MutationObserver(() => {
			const log = document.getElementById("loglines");
			if (log && log.textContent.includes("done")) sessionStorage.setItem("sawDone", "1");
		}).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
		sessionStorage.setItem("watching", String(performance.timeOrigin)); true`)
	origin := js(`sessionStorage.getItem("watching")`)
	must(os.WriteFile(gate, nil, 0o644))
	// The new line arrives in the page that was open.
	must(f.WaitTrue(`sessionStorage.getItem("sawDone") === "1"`))
	// Then the page moves on by itself (to the next step's log, and once
	// the run ended, to the ended run).
	must(f.WaitTrue(fmt.Sprintf(`String(performance.timeOrigin) !== %q && document.getElementById("rerun") !== null && document.querySelector("a.node[data-step=last]").classList.contains("s-succeeded")`, origin)))

	// The param is text, and nothing it carried ran.
	if v := js(`document.querySelector("dl.facts").textContent.includes("<img src=x onerror=window.__pwned=1>")`); v != true {
		t.Fatalf("param not shown as text: %v", js(`document.querySelector("dl.facts").textContent`))
	}
	if v := js(`typeof window.__pwned`); v != "undefined" {
		t.Fatalf("injected markup ran: %v", v)
	}
	if v := js(`document.querySelectorAll("main img").length`); v != float64(0) {
		t.Fatalf("an img element in main: %v", v)
	}
	if v := js(`document.body.textContent`); !strings.Contains(fmt.Sprint(v), "succeeded") {
		t.Fatalf("run page:\n%v", v)
	}
}
