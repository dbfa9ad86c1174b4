package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ParseCallbackBody parses the body a step POSTs to its callback URL:
//
//	{"variables": {"name": "value", ...}}
//
// It reads at most [MaxInputBytes]. The body must be exactly that object:
// unknown fields, duplicate names and values that are not strings are
// rejected rather than guessed at, so that a client bug shows up at once.
//
// Errors for bad input wrap [ErrInvalid] or [ErrTooLarge]; an error reading r
// is returned wrapped as it is.
func ParseCallbackBody(r io.Reader) (map[string]string, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("callback body: read: %w", err)
	}
	if len(body) > MaxInputBytes {
		return nil, tooLargef("callback body: over %d bytes, the limit", MaxInputBytes)
	}
	out, err := parseCallback(body)
	if err != nil {
		return nil, prefixed("callback body", err)
	}
	return out, nil
}

const callbackShape = `send {"variables": {"name": "value"}}`

func parseCallback(body []byte) (map[string]string, error) {
	if !utf8.Valid(body) {
		return nil, invalidf("not valid UTF-8")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalidf("empty; %s", callbackShape)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := expectDelim(dec, '{', "the body is not a JSON object; "+callbackShape); err != nil {
		return nil, err
	}
	var out map[string]string
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return nil, err
		}
		if key != "variables" {
			return nil, invalidf("unknown field %q; %s", abbrev(key), callbackShape)
		}
		if out != nil {
			return nil, invalidf(`field "variables" appears twice`)
		}
		if out, err = parseVariables(dec); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}', "the body is not a JSON object; "+callbackShape); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidf("unexpected data after the JSON object")
	}
	if out == nil {
		return nil, invalidf(`field "variables" is missing; %s`, callbackShape)
	}
	if err := CheckTotal(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseVariables(dec *json.Decoder) (map[string]string, error) {
	if err := expectDelim(dec, '{', `"variables" is not an object; `+callbackShape); err != nil {
		return nil, err
	}
	out := make(map[string]string)
	for dec.More() {
		name, err := objectKey(dec)
		if err != nil {
			return nil, err
		}
		if err := ValidName(name); err != nil {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, invalidf("variable %s appears twice", name)
		}
		tok, err := token(dec)
		if err != nil {
			return nil, err
		}
		value, ok := tok.(string)
		if !ok {
			return nil, invalidf("value of %s is %s; values must be strings, e.g. \"42\"", name, describe(tok))
		}
		if err := ValidValue(value); err != nil {
			return nil, prefixed(name, err)
		}
		out[name] = value
		if len(out) > MaxVariables {
			return nil, tooLargef("more than %d variables", MaxVariables)
		}
	}
	if err := expectDelim(dec, '}', `"variables" is not an object`); err != nil {
		return nil, err
	}
	return out, nil
}

// objectKey reads the next key of the object dec is in.
func objectKey(dec *json.Decoder) (string, error) {
	tok, err := token(dec)
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		// Token checks JSON syntax, so inside an object only a string can
		// come here; keep the check so a change in encoding/json cannot
		// turn into a panic.
		return "", invalidf("expected an object key, found %s", describe(tok))
	}
	return key, nil
}

func expectDelim(dec *json.Decoder, want json.Delim, msg string) error {
	tok, err := token(dec)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return invalidf("%s", msg)
	}
	return nil
}

func token(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, invalidf("the JSON ends too early")
		}
		return nil, invalidf("not valid JSON: %v", err)
	}
	return tok, nil
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	}
	return fmt.Sprintf("%T", tok)
}
