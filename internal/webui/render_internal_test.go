package webui

import "testing"

// Every page's template parses: the UI parses them at the first request,
// so a broken one would otherwise show only then.
func TestPagesParse(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pageNames {
		if p.byName[name] == nil || p.byName[name].Lookup("content") == nil {
			t.Errorf("page %s has no content template", name)
		}
	}
	for _, f := range []string{"app.css", "app.js", "favicon.svg"} {
		if p.static[f] == "" {
			t.Errorf("static file %s not hashed", f)
		}
	}
}
