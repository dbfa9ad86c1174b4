package azurequeue

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/baton-dev/baton/internal/contract"
)

// MaxMessageBytes is the largest message text read: Azure Storage queue
// messages hold at most 64 KiB, and base64 makes a third more of that.
const MaxMessageBytes = 64<<10*4/3 + 4

// Refusal is why a message cannot start a run. Its text says what was
// wrong without quoting the message: a param's name at most, once it is
// known to be a valid one, never a value.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return r.Reason }

func refusef(format string, args ...any) error {
	return &Refusal{Reason: fmt.Sprintf(format, args...)}
}

// ParseMessage reads a message's text as the params of one run: a JSON
// object whose values are strings, numbers or booleans, numbers and
// booleans taken as written. The object may also come base64-encoded, as
// Azure Functions' queue bindings write it. Anything else is a
// [*Refusal].
func ParseMessage(text string) (map[string]string, error) {
	if len(text) > MaxMessageBytes {
		return nil, refusef("the message is %d bytes; the limit is %d", len(text), MaxMessageBytes)
	}
	body := []byte(strings.TrimSpace(text))
	if len(body) == 0 {
		return nil, refusef("the message is empty; write a JSON object of params, e.g. {\"target\": \"eu\"}")
	}
	if body[0] != '{' {
		// Base64 never starts with {, so no JSON is read twice; what
		// decodes to something other than an object or a list is read as
		// it came, to say what it is.
		dec, err := base64.StdEncoding.DecodeString(string(body))
		if dec = bytes.TrimSpace(dec); err == nil && len(dec) > 0 && (dec[0] == '{' || dec[0] == '[') {
			body = dec
		}
	}
	return parseObject(body)
}

// parseObject reads one JSON object of params, token by token, so that a
// name given twice is seen rather than the last one kept.
func parseObject(body []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxRefusal(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, refusef("the message is %s, not an object; write a JSON object of params, e.g. {\"target\": \"eu\"}", describeToken(tok))
	}
	params := make(map[string]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxRefusal(err)
		}
		name, _ := tok.(string) // the decoder allows only strings here
		if err := contract.ValidName(name); err != nil {
			return nil, refusef("param %d of the message has a name that is not a valid param name; names use letters, digits and _, do not start with a digit, and are at most %d bytes", len(params)+1, contract.MaxNameBytes)
		}
		if _, dup := params[name]; dup {
			return nil, refusef("param %s is given twice; give it once", name)
		}
		if len(params) == contract.MaxVariables {
			return nil, refusef("the message has more than %d params, the limit", contract.MaxVariables)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, syntaxRefusal(err)
		}
		var value string
		switch v := tok.(type) {
		case string:
			value = v
		case json.Number:
			value = v.String()
		case bool:
			value = fmt.Sprint(v)
		default:
			return nil, refusef("param %s is %s; give a string, a number or a boolean", name, describeToken(tok))
		}
		if err := contract.ValidValue(value); err != nil {
			return nil, refusef("param %s: %v", name, err)
		}
		params[name] = value
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return nil, syntaxRefusal(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, refusef("the message has more after its JSON object; send one object per message")
	}
	return params, nil
}

// describeToken says what kind of JSON value tok starts.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "a list"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "not a JSON value"
}

// syntaxRefusal says where the JSON broke, quoting none of it: the
// decoder's own messages may show a character of the message.
func syntaxRefusal(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return refusef("the message is not valid JSON (broken at byte %d); write a JSON object of params, e.g. {\"target\": \"eu\"}", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return refusef("the message is not valid JSON (it ends too soon); write a JSON object of params, e.g. {\"target\": \"eu\"}")
	}
	return refusef("the message is not valid JSON; write a JSON object of params, e.g. {\"target\": \"eu\"}")
}
