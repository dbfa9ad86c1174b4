package mask

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
)

// minOffsetLen is the shortest secret whose base64 is also masked at the
// offsets a longer stream puts it at. Shorter secrets leave too few stable
// characters (4 for a 4-byte secret) to tell from unrelated base64 text.
const minOffsetLen = 6

var base64Alphabets = []*base64.Encoding{base64.StdEncoding, base64.URLEncoding}

// base64Widths are the line lengths base64 encoders wrap at by default: 76
// for coreutils base64, MIME and Python's base64.encodebytes; 64 for
// openssl base64 and PEM.
var base64Widths = []int{76, 64}

// xxdWidth is how many hex digits a line of `xxd -p` holds.
const xxdWidth = 60

// dumpLine is how many bytes a line of xxd, od -An -tx1 and hexdump -C
// shows.
const dumpLine = 16

// maxURLFormLen is the longest secret whose rarer URL encodings are masked,
// beyond url.QueryEscape and url.PathEscape. Each costs the [Masker] up to
// three times the secret's length; a longer value (a key file, a
// certificate) does not go into a URL, where servers refuse much past 8 KiB.
const maxURLFormLen = 2 << 10

// urlForms returns secret percent-encoded as URL encoders commonly write it,
// each with upper- and lower-case hex digits: Go's url.QueryEscape (also
// HTML form encoding, with space as '+') and url.PathEscape; RFC 3986's
// unreserved set left alone (curl --data-urlencode, jq @uri, Python's quote
// with safe=""), and with '/' too (quote's default); JavaScript's
// encodeURIComponent; and every byte escaped. Secrets longer than
// [maxURLFormLen] get only the first two.
func urlForms(b []byte) []string {
	s := string(b)
	upper := []string{url.QueryEscape(s), url.PathEscape(s)}
	if len(b) > maxURLFormLen {
		return upper
	}
	upper = append(upper,
		percentEncode(b, unreserved),
		percentEncode(b, func(c byte) bool { return unreserved(c) || c == '/' }),
		percentEncode(b, func(c byte) bool { return unreserved(c) || strings.IndexByte("!'()*", c) >= 0 }),
		percentEncode(b, func(byte) bool { return false }))
	out := upper
	for _, f := range upper {
		if lower := lowerEscapes(f); lower != f {
			out = append(out, lower)
		}
	}
	return out
}

// unreserved reports whether RFC 3986 leaves c as is in a URL.
func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

// percentEncode writes every byte of b that keep refuses as %XX.
func percentEncode(b []byte, keep func(byte) bool) string {
	const digits = "0123456789ABCDEF"
	var out strings.Builder
	out.Grow(3 * len(b))
	for _, c := range b {
		if keep(c) {
			out.WriteByte(c)
			continue
		}
		out.WriteByte('%')
		out.WriteByte(digits[c>>4])
		out.WriteByte(digits[c&15])
	}
	return out.String()
}

// lowerEscapes returns s, percent-encoded with upper-case hex digits, with
// the digits in lower case.
func lowerEscapes(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerHex(b[i+1]), lowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// hexForms returns secret in hex: lower case (hex.EncodeToString, xxd -p)
// and upper case (printf %X, xxd -p -u, .hex().upper()), and each line of
// `xxd -p` output in either case.
func hexForms(b []byte) []string {
	lower := hex.EncodeToString(b)
	upper := strings.ToUpper(lower)
	out := []string{lower, upper}
	out = append(out, lineFragments(lower, xxdWidth, 2*minFragmentBytes)...)
	out = append(out, lineFragments(upper, xxdWidth, 2*minFragmentBytes)...)
	return append(out, dumpForms(b)...)
}

// dumpForms returns the hex of each line of a hex dump of secret, as xxd
// (bytes in pairs) and od -An -tx1 (bytes apart) print it; hexdump -C
// prints od's form with a second space after the eighth byte, so od's is
// given for each half line. The ASCII column of xxd and hexdump -C is left
// alone: masking raw pieces of a secret, such as `"service_account`, would
// mask ordinary text.
func dumpForms(b []byte) []string {
	var out []string
	for i := 0; i < len(b); i += dumpLine {
		line := b[i:min(i+dumpLine, len(b))]
		if i > 0 && len(line) < minFragmentBytes {
			break // the last line of a long secret, too short alone
		}
		out = append(out, groupedHex(line, 2))
		for j := 0; j < len(line); j += dumpLine / 2 {
			half := line[j:min(j+dumpLine/2, len(line))]
			if i+j > 0 && len(half) < minFragmentBytes {
				break
			}
			out = append(out, groupedHex(half, 1))
		}
	}
	return out
}

// groupedHex writes b as lower-case hex, size bytes a group, the groups
// separated by a space.
func groupedHex(b []byte, size int) string {
	var out strings.Builder
	out.Grow(2*len(b) + len(b)/size)
	for i := 0; i < len(b); i += size {
		if i > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(hex.EncodeToString(b[i:min(i+size, len(b))]))
	}
	return out.String()
}

// base64Forms returns secret in standard and URL base64: with and without
// padding, as base64 -w0 prints it; each line of it as an encoder that
// wraps lines prints it ([base64Widths]), with or without a newline after
// the value; and, for secrets of [minOffsetLen] bytes or more, the part that
// is the same wherever the secret sits in a longer encoded stream.
func base64Forms(b []byte) []string {
	var out []string
	for _, enc := range base64Alphabets {
		full := enc.EncodeToString(b)
		out = append(out, full, enc.WithPadding(base64.NoPadding).EncodeToString(b))
		if len(b) >= minOffsetLen {
			for offset := range 3 {
				out = append(out, base64Inner(enc, b, offset))
			}
		}
		// The characters that encode only the secret when something else,
		// such as echo's newline, follows it.
		lead := base64Inner(enc, b, 0)
		const minChars = (8*minFragmentBytes + 5) / 6
		for _, w := range base64Widths {
			out = append(out, lineFragments(full, w, minChars)...)
			out = append(out, lineFragments(lead, w, minChars)...)
		}
	}
	return out
}

// base64Inner returns the base64 characters that encode only bytes of secret
// when it sits offset bytes (0, 1 or 2) into a 3-byte group of a larger
// stream, as when a step base64-encodes a whole config file that holds the
// secret. Each character carries 6 bits; those that mix in bits of the bytes
// before or after the secret are left out, since they are unknown, so up to
// two characters at each end stay visible. They hold at most 4 bits of the
// secret each.
func base64Inner(enc *base64.Encoding, secret []byte, offset int) string {
	buf := make([]byte, offset+len(secret))
	copy(buf[offset:], secret)
	s := enc.WithPadding(base64.NoPadding).EncodeToString(buf)
	first := (8*offset + 5) / 6            // the first character that starts at or after the secret's first bit
	last := 8 * (offset + len(secret)) / 6 // one past the last character that ends by its last bit
	return s[first:last]
}
