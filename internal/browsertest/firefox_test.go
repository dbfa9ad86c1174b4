package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/baton-dev/baton/internal/browsertest"
)

// Firefox runs the page's own script file and not an inline one under a
// strict policy, as Chromium does.
func TestFirefoxRunsScriptFilesNotInline(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><p id="a">no</p><p id="b">no</p><script src="/s.js"></script><script>document.getElementById("b").textContent="inline"</script>`))
	})
	mux.HandleFunc("/s.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(`document.getElementById("a").textContent = "file";`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := browsertest.StartFirefox(t)
	if err := f.Navigate(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitTrue(`document.getElementById("a").textContent === "file"`); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Eval(`document.getElementById("b").textContent`); err != nil || v != "no" {
		t.Fatalf("inline script ran under the policy: %v %v", v, err)
	}
}
