package sqlrow

import "encoding/json"

// ParamMatch returns the two texts one of which the stored params of a
// run (a map as [EncodeMap] writes it) contain if and only if the map
// holds name with exactly value: the pair as EncodeMap writes it, after
// the '{' that opens the first key or the ',' before any other. No text
// inside a JSON string holds an unescaped '"', so neither can start or end
// within a name or a value; and a string's encoding ends at its first
// unescaped '"', so a longer value does not match either. A store filters
// by params with these as substrings of the column, which needs no JSON
// function: PostgreSQL's refuse a whole object when any of its strings
// holds \u0000, which a param value may. It is exact for UTF-8 text; a
// byte that is not UTF-8 is stored as an escaped U+FFFD, which a filter
// naming U+FFFD itself does not match.
func ParamMatch(name, value string) (first, later string, err error) {
	n, err := json.Marshal(name)
	if err != nil {
		return "", "", err
	}
	v, err := json.Marshal(value)
	if err != nil {
		return "", "", err
	}
	pair := string(n) + ":" + string(v)
	return "{" + pair, "," + pair, nil
}
