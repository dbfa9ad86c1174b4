package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
)

// minOffsetLen is the shortest secret whose base64 is also masked at the
// offsets a longer stream puts it at. Shorter secrets leave too few stable
// characters (4 for a 4-byte secret) to tell from unrelated base64 text.
const minOffsetLen = 6

var base64Alphabets = []*base64.Encoding{base64.StdEncoding, base64.URLEncoding}

// forms returns the spellings of secret to mask: the raw bytes and the ways
// a step is likely to print them. It may repeat a form.
func forms(secret string) []string {
	out := []string{
		secret,
		hex.EncodeToString([]byte(secret)),
		url.QueryEscape(secret),
		url.PathEscape(secret),
		jsonContent(secret, true),
		jsonContent(secret, false),
	}
	for _, enc := range base64Alphabets {
		out = append(out,
			enc.EncodeToString([]byte(secret)),
			enc.WithPadding(base64.NoPadding).EncodeToString([]byte(secret)))
		if len(secret) >= minOffsetLen {
			for offset := range 3 {
				out = append(out, base64Inner(enc, secret, offset))
			}
		}
	}
	return out
}

// jsonContent returns secret as encoding/json writes it inside a string,
// without the quotes; escapeHTML picks between json.Marshal's \u003c for '<'
// and the plain '<' of an Encoder with SetEscapeHTML(false).
func jsonContent(secret string, escapeHTML bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	enc.Encode(secret) // a string always encodes
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return string(b[1 : len(b)-1])
}

// base64Inner returns the base64 characters that encode only bytes of secret
// when it sits offset bytes (0, 1 or 2) into a 3-byte group of a larger
// stream, as when a step base64-encodes a whole config file that holds the
// secret. Each character carries 6 bits; those that mix in bits of the bytes
// before or after the secret are left out, since they are unknown, so up to
// two characters at each end stay visible. They hold at most 4 bits of the
// secret each.
func base64Inner(enc *base64.Encoding, secret string, offset int) string {
	buf := make([]byte, offset+len(secret))
	copy(buf[offset:], secret)
	s := enc.WithPadding(base64.NoPadding).EncodeToString(buf)
	first := (8*offset + 5) / 6            // the first character that starts at or after the secret's first bit
	last := 8 * (offset + len(secret)) / 6 // one past the last character that ends by its last bit
	return s[first:last]
}
