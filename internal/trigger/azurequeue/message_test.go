package azurequeue

import (
	"encoding/base64"
	"errors"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/baton-dev/baton/internal/contract"
)

func TestParseMessage(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"strings", `{"target": "eu", "size": "3"}`, map[string]string{"target": "eu", "size": "3"}},
		{"numbers and booleans as written", ` {"n": 3, "f": 1.50, "e": 1e3, "neg": -2, "yes": true, "no": false} `,
			map[string]string{"n": "3", "f": "1.50", "e": "1e3", "neg": "-2", "yes": "true", "no": "false"}},
		{"empty object", `{}`, map[string]string{}},
		{"escapes", `{"s": "a\"b\\c\u00e9\n"}`, map[string]string{"s": "a\"b\\c\u00e9\n"}},
		{"base64, as Azure Functions write", b64(`{"target": "eu"}`), map[string]string{"target": "eu"}},
		{"base64 with spaces around", "\n" + b64(` {"a": 1} `) + "  ", map[string]string{"a": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMessage(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseMessageRefusals(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	const secret = "S3CRET-VALUE"
	var many strings.Builder
	many.WriteString("{")
	for i := range contract.MaxVariables + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`"p` + strings.Repeat("x", i/26) + string(rune('a'+i%26)) + `": "` + secret + `"`)
	}
	many.WriteString("}")
	tests := []struct{ name, in, want string }{
		{"empty", "  ", "the message is empty; write a JSON object of params"},
		{"bad json", `{"target": "` + secret + `"`, "the message is not valid JSON (it ends too soon)"},
		{"bad json middle", `{"target" "` + secret + `"}`, "the message is not valid JSON (broken at byte 10)"},
		{"plain text", secret + " please", "the message is not valid JSON (broken at byte 1)"},
		{"array", `["` + secret + `"]`, "the message is a list, not an object; write a JSON object of params"},
		{"string", `"` + secret + `"`, "the message is a string, not an object"},
		{"number", `42`, "the message is a number, not an object"},
		{"boolean", `true`, "the message is a boolean, not an object"},
		{"null", `null`, "the message is null, not an object"},
		{"base64 of an array", b64(`["` + secret + `"]`), "the message is a list, not an object"},
		{"base64 of text", b64(secret), "the message is not valid JSON (broken at byte 1)"},
		{"nested object", `{"a": {"b": "` + secret + `"}}`, "param a is an object; give a string, a number or a boolean"},
		{"nested list", `{"a": ["` + secret + `"]}`, "param a is a list; give a string, a number or a boolean"},
		{"null value", `{"a": null}`, "param a is null; give a string"},
		{"bad name", `{"` + secret + `-x": "v"}`, "param 1 of the message has a name that is not a valid param name"},
		{"bad second name", `{"ok": 1, "1` + secret + `": "v"}`, "param 2 of the message has a name that is not a valid param name"},
		{"empty name", `{"": "v"}`, "param 1 of the message has a name that is not a valid param name"},
		{"twice", `{"a": "` + secret + `", "a": "x"}`, "param a is given twice; give it once"},
		{"nul value", `{"a": "x\u0000` + secret + `"}`, "param a: value contains a NUL byte"},
		{"trailing data", `{"a": 1} {"b": 2}`, "the message has more after its JSON object"},
		{"trailing garbage", `{"a": 1}` + secret, "the message has more after its JSON object"},
		{"too many", many.String(), "the message has more than 1000 params, the limit"},
		{"too large", `{"a": "` + strings.Repeat("x", MaxMessageBytes) + `"}`, "the message is 87394 bytes; the limit is 87385"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMessage(tt.in)
			if err == nil {
				t.Fatalf("accepted as %q", got)
			}
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("got %v (%T), want a *Refusal", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "S3CRET") {
				t.Fatalf("the refusal quotes the message: %v", err)
			}
		})
	}
}

// FuzzParseMessage checks that an accepted message holds valid params
// only, and that a refusal never quotes the message beyond a param name.
func FuzzParseMessage(f *testing.F) {
	for _, seed := range []string{
		`{"target": "eu", "n": 3, "ok": true}`,
		`{}`, `[]`, `null`, `"x"`, `1`, ``, `{"a": {"b": 1}}`, `{"a": "b", "a": "c"}`,
		`{"a": "\u0000"}`, `{"a": 1}{`, `{"1a": 1}`, `{"a":`,
		base64.StdEncoding.EncodeToString([]byte(`{"a": "b"}`)),
		base64.StdEncoding.EncodeToString([]byte(`[1]`)),
		"eyJ", "{\"a\": \"\xff\"}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		params, err := ParseMessage(text)
		if err != nil {
			var r *Refusal
			if !errors.As(err, &r) || r.Reason == "" {
				t.Fatalf("got %v (%T), want a *Refusal with a reason", err, err)
			}
			if !utf8.ValidString(r.Reason) {
				t.Fatalf("the reason is not valid UTF-8: %q", r.Reason)
			}
			return
		}
		if len(params) > contract.MaxVariables {
			t.Fatalf("accepted %d params", len(params))
		}
		for name, value := range params {
			if err := contract.ValidName(name); err != nil {
				t.Fatalf("accepted name %q: %v", name, err)
			}
			if err := contract.ValidValue(value); err != nil {
				t.Fatalf("accepted value of %s: %v", name, err)
			}
		}
	})
}
