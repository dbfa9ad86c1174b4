// Package sqlrow is how baton's SQL stores (SQLite and PostgreSQL) hold
// its values in their columns, and what a create returns: the row a read
// gives back afterwards. Both stores keep times as unix nanoseconds, 0 for
// the zero time, and string maps as JSON objects, NULL for an empty one,
// so a value comes back the same from either. The SQL itself, which
// differs, stays with each store.
package sqlrow

import (
	"encoding/json"
	"maps"
	"time"
)

// UnixNano is t as stored: unix nanoseconds, 0 for the zero time.
func UnixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromUnixNano is the inverse of [UnixNano], in UTC.
func FromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// EncodeMap is m as stored: a JSON object, nil (NULL) for an empty map.
// JSON escapes every control character, NUL included, so the text is
// storable in any text column.
func EncodeMap(m map[string]string) (*string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// DecodeMap is the inverse of [EncodeMap]; NULL, an empty text and an
// empty object are all a nil map.
func DecodeMap(s *string) (map[string]string, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(*s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// CloneMap copies m so that a returned row shares nothing with the
// caller's params; empty is nil, as [DecodeMap] reads it back.
func CloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// ExitCode is an exit code as stored; nil (NULL) when there is none.
func ExitCode(c *int) *int64 {
	if c == nil {
		return nil
	}
	n := int64(*c)
	return &n
}

// FromExitCode is the inverse of [ExitCode].
func FromExitCode(n *int64) *int {
	if n == nil {
		return nil
	}
	c := int(*n)
	return &c
}
