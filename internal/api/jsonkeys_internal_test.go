package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDuplicateKey(t *testing.T) {
	t.Parallel()
	for doc, want := range map[string]string{
		`{"who": "a", "who": "b"}`:                              "who",
		`{"params": {"x": 1, "y": 2, "x": 3}}`:                  "x",
		`{"a": [{"k": 1}, {"k": 2}], "b": {"k": 1, "k": 1}}`:    "k",
		`{"a": {"b": {}}, "a": 1}`:                              "a",
		`[{"a": 1, "a": 2}]`:                                    "a",
		`{"values": {"a": "1"}, "approve": true, "values": {}}`: "values",
	} {
		if got, dup := duplicateKey([]byte(doc)); !dup || got != want {
			t.Errorf("%s: got %q %v, want %q", doc, got, dup, want)
		}
	}
	for _, doc := range []string{
		``, `{}`, `[]`, `{"a": 1, "b": {"a": 2}}`, `[{"a": 1}, {"a": 2}]`,
		`{"a": ["a", "a"], "b": "a"}`, `{"a": {"x": 1}, "b": {"x": 1}}`, `not json`,
	} {
		if got, dup := duplicateKey([]byte(doc)); dup {
			t.Errorf("%s: duplicate %q reported", doc, got)
		}
	}
}

// FuzzDuplicateKey: never a panic; a key reported is one the document
// holds; and a document encoding/json wrote from a decoded value, whose
// keys are unique by construction, has no duplicate.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[{"c":1}]}}`, `[1,"x",{"k":[]}]`, `{"a":1,"b":{"a":1}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		key, dup := duplicateKey([]byte(doc))
		if dup && !strings.Contains(doc, key) && !strings.Contains(doc, `\`) {
			t.Fatalf("duplicate %q is not in %s", key, doc)
		}
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if key, dup := duplicateKey(again); dup {
			t.Fatalf("duplicate %q reported in %s, written from %s", key, again, doc)
		}
	})
}
