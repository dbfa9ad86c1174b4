package contract

import (
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseCallbackBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"empty variables", `{"variables": {}}`, map[string]string{}},
		{"some", `{"variables": {"a": "1", "B_2": "", "_c": "x\ny"}}`, map[string]string{"a": "1", "B_2": "", "_c": "x\ny"}},
		{"whitespace", " \n{ \"variables\" :\t{\"a\":\"1\"} }\n", map[string]string{"a": "1"}},
		{"escapes", `{"variables": {"a": "\u00fc\"\\\t"}}`, map[string]string{"a": "ü\"\\\t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCallbackBody(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseCallbackBody(%q): %v", tt.in, err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseCallbackBody(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseCallbackBodyErrors(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("v", MaxValueBytes)
	var many strings.Builder
	many.WriteString(`{"variables": {`)
	for i := range MaxVariables + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`"v` + strings.Repeat("_", i%200) + strings.Repeat("x", i/200) + `": ""`)
	}
	many.WriteString("}}")
	tests := []struct {
		name, in string
		kind     error
		want     string
	}{
		{"empty", "", ErrInvalid, "callback body: empty"},
		{"not json", "a=1", ErrInvalid, "callback body: not valid JSON"},
		{"array", `[{"variables": {}}]`, ErrInvalid, "the body is not a JSON object"},
		{"string", `"x"`, ErrInvalid, "the body is not a JSON object"},
		{"null", `null`, ErrInvalid, "the body is not a JSON object"},
		{"truncated", `{"variables": {"a": "1"`, ErrInvalid, "the JSON ends too early"},
		{"trailing data", `{"variables": {}} {}`, ErrInvalid, "unexpected data after the JSON object"},
		{"trailing garbage", `{"variables": {}} x`, ErrInvalid, "unexpected data after the JSON object"},
		{"missing variables", `{}`, ErrInvalid, `field "variables" is missing`},
		{"unknown field", `{"variables": {}, "vars": {}}`, ErrInvalid, `unknown field "vars"`},
		{"variables twice", `{"variables": {}, "variables": {}}`, ErrInvalid, `field "variables" appears twice`},
		{"variables null", `{"variables": null}`, ErrInvalid, `"variables" is not an object`},
		{"variables array", `{"variables": ["a"]}`, ErrInvalid, `"variables" is not an object`},
		{"duplicate name", `{"variables": {"a": "1", "a": "1"}}`, ErrInvalid, "variable a appears twice"},
		{"number", `{"variables": {"a": 1}}`, ErrInvalid, `value of a is a number; values must be strings, e.g. "42"`},
		{"bool", `{"variables": {"a": true}}`, ErrInvalid, "value of a is a boolean"},
		{"null value", `{"variables": {"a": null}}`, ErrInvalid, "value of a is null"},
		{"nested object", `{"variables": {"a": {"b": "c"}}}`, ErrInvalid, "value of a is an object"},
		{"nested array", `{"variables": {"a": ["b"]}}`, ErrInvalid, "value of a is an array"},
		{"invalid name", `{"variables": {"a-b": "1"}}`, ErrInvalid, `variable name "a-b" contains '-'`},
		{"invalid utf-8", "{\"variables\": {\"a\": \"\xff\"}}", ErrInvalid, "callback body: not valid UTF-8"},
		{"nul", `{"variables": {"a": "x\u0000"}}`, ErrInvalid, "callback body: a: value contains a NUL byte"},
		{"value too large", `{"variables": {"a": "` + big + `x"}}`, ErrTooLarge, "callback body: a: value is 262145 bytes"},
		{"total too large", `{"variables": {"a": "` + big + `", "b": "` + big + `", "c": "` + big + `", "d": "` + big + `"}}`, ErrTooLarge, "callback body: names and values total 1048580 bytes"},
		{"too many", many.String(), ErrTooLarge, "callback body: more than 1000 variables"},
		{"body too large", `{"variables": {"a": "` + strings.Repeat(" ", MaxInputBytes) + `"}}`, ErrTooLarge, "callback body: over 1114112 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCallbackBody(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("ParseCallbackBody = %q, want error %q", got, tt.want)
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCallbackBody error = %q (is %v: %t), want it to contain %q", err, tt.kind, errors.Is(err, tt.kind), tt.want)
			}
		})
	}
}

func TestParseCallbackBodyReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := ParseCallbackBody(io.MultiReader(strings.NewReader(`{"vari`), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || errors.Is(err, ErrInvalid) {
		t.Errorf("ParseCallbackBody error = %v, want it to wrap the read error only", err)
	}
}

func FuzzParseCallbackBody(f *testing.F) {
	for _, seed := range []string{
		`{"variables": {}}`,
		`{"variables": {"a": "1", "b": "x\ny"}}`,
		`{"variables": {"a": "1", "a": "2"}}`,
		`{"variables": {"a": {"b": "c"}}}`,
		`{"variables": {"a": 1}}`,
		`{"variables": {}, "x": 1}`,
		`{"variables": {}} {}`,
		`{"variables": {"a": "\ud800"}}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseCallbackBody(strings.NewReader(string(data)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		checkOutputs(t, got)
	})
}
