package mask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// minFragmentBytes is the fewest bytes of a secret a derived fragment must
// spell out to be masked: a line of a wrapped encoding, or a group of a hex
// dump, that holds only part of the secret. A fragment of fewer bytes (a
// 4-character last line of base64, "Zg==", say) is too short to tell from
// unrelated text and would mask ordinary logs; it leaves at most 5 bytes of
// a secret that is longer than a whole line. The same reasoning sets
// [minOffsetLen]. The whole secret in any form is masked from [MinLen] bytes.
const minFragmentBytes = 6

// forms returns the spellings of secret to mask: the raw bytes and the ways
// a step is likely to print them. It may repeat a form.
func forms(secret string) []string {
	b := []byte(secret)
	out := []string{
		secret,
		jsonContent(secret, true),
		jsonContent(secret, false),
		jsonASCII(secret),
	}
	out = append(out, urlForms(b)...)
	out = append(out, hexForms(b)...)
	out = append(out, base64Forms(b)...)
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

// jsonASCII returns secret as Python's json.dumps writes it inside a string
// by default (ensure_ascii): DEL and every character outside ASCII as
// \uXXXX, in UTF-16 surrogate pairs past U+FFFF.
func jsonASCII(secret string) string {
	var b strings.Builder
	for _, r := range secret {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lineFragments returns the lines an encoder that wraps at width characters
// prints for enc, the encoding of a value on its own, keeping only those
// that spell at least minChars characters besides '=' padding. It returns
// nothing when enc fits on one line: enc itself is then the form.
func lineFragments(enc string, width, minChars int) []string {
	if len(enc) <= width {
		return nil
	}
	var out []string
	for i := 0; i < len(enc); i += width {
		line := enc[i:min(i+width, len(enc))]
		if len(strings.TrimRight(line, "=")) >= minChars {
			out = append(out, line)
		}
	}
	return out
}
