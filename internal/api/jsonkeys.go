package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// readJSON reads a JSON request body, as readBody does, and refuses one
// in which an object names a key twice: encoding/json keeps the last, and
// which of the two a client meant is a guess.
func readJSON(w http.ResponseWriter, r *http.Request, limit int, what string) ([]byte, bool) {
	data, ok := readBody(w, r, limit, what)
	if !ok {
		return nil, false
	}
	if key, dup := duplicateKey(data); dup {
		refuse(w, r, http.StatusBadRequest, fmt.Sprintf("%s: %.64q is named twice in one object; give each name once", what, key))
		return nil, false
	}
	return data, true
}

// duplicateKey reports the first key an object of the JSON document in
// data names twice. A document that is not valid JSON has none: its
// decoder says what is wrong with it.
func duplicateKey(data []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	// One frame per open object (its keys so far) or array (nil).
	type frame struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil { // the end, or not JSON
			return "", false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.expectKey {
			if key, ok := tok.(string); ok {
				if top.keys[key] {
					return key, true
				}
				top.keys[key] = true
				top.expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.keys != nil {
				top.expectKey = true // after this value, the next key
			}
			stack = append(stack, &frame{keys: make(map[string]bool), expectKey: true})
			continue
		case json.Delim('['):
			if top != nil && top.keys != nil {
				top.expectKey = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		// A scalar value: in an object, a key comes next.
		if top != nil && top.keys != nil {
			top.expectKey = true
		}
	}
}
