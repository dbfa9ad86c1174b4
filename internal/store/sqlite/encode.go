package sqlite

import (
	"database/sql"
	"encoding/json"
	"strings"
	"time"
)

// unixNano stores t as unix nanoseconds; the zero time is 0.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is the inverse of unixNano, in UTC.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encodeMap stores m as a JSON object; an empty map is NULL.
func encodeMap(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeMap is the inverse of encodeMap; an empty object is a nil map.
func decodeMap(s sql.NullString) (map[string]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func encodeExitCode(c *int) any {
	if c == nil {
		return nil
	}
	return int64(*c)
}

func decodeExitCode(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	c := int(n.Int64)
	return &c
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
