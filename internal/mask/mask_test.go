package mask

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// secret has a byte that each escaping form changes: '&', '/', '+', ' ', '<'
// and '"'.
const secret = `p&ss/w+rd <"42">`

func TestStringForms(t *testing.T) {
	t.Parallel()
	marshal, _ := json.Marshal(secret)
	forms := map[string]string{
		"raw":            secret,
		"hex":            hex.EncodeToString([]byte(secret)),
		"base64":         base64.StdEncoding.EncodeToString([]byte(secret)),
		"raw base64":     base64.RawStdEncoding.EncodeToString([]byte(secret)),
		"url base64":     base64.URLEncoding.EncodeToString([]byte(secret)),
		"raw url base64": base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"query escape":   url.QueryEscape(secret),
		"path escape":    url.PathEscape(secret),
		"json":           string(marshal[1 : len(marshal)-1]),
		"json no html":   `p&ss/w+rd <\"42\">`,
		"upper hex":      strings.ToUpper(hex.EncodeToString([]byte(secret))),
		"query lower":    strings.ToLower(url.QueryEscape(secret)),
		"rfc 3986":       "p%26ss%2Fw%2Brd%20%3C%2242%22%3E",
		"rfc 3986 lower": "p%26ss%2fw%2brd%20%3c%2242%22%3e",
		"python quote":   "p%26ss/w%2Brd%20%3C%2242%22%3E",
		"every byte":     "%70%26%73%73%2F%77%2B%72%64%20%3C%22%34%32%22%3E",
		"every byte lc":  "%70%26%73%73%2f%77%2b%72%64%20%3c%22%34%32%22%3e",
		"xxd":            "7026 7373 2f77 2b72 6420 3c22 3432 223e",
	}
	m := New(secret)
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if form == secret && name != "raw" {
				t.Fatalf("form %s is the raw secret; the test does not cover it", name)
			}
			for _, tc := range []struct{ in, want string }{
				{form, "***"},
				{"token=" + form + "\n", "token=***\n"},
				{form + form, "***"},
				{form + " and " + form, "*** and ***"},
				{`{"value":"` + form + `"}`, `{"value":"***"}`},
			} {
				if got := m.String(tc.in); got != tc.want {
					t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
				}
				if !m.Contains(tc.in) {
					t.Errorf("Contains(%q) = false", tc.in)
				}
			}
		})
	}
}

// A secret inside a larger base64-encoded stream is masked at every offset,
// leaving at most the two edge characters that mix in other bytes.
func TestStringBase64Offsets(t *testing.T) {
	t.Parallel()
	const s = "correct-horse-battery"
	m := New(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		for before := range 7 {
			for after := range 4 {
				data := strings.Repeat("\xfb", before) + s + strings.Repeat("\xff", after)
				in := enc.EncodeToString([]byte(data))
				got := m.String(in)
				head, tail, ok := strings.Cut(got, Replacement)
				if !ok || strings.Contains(tail, Replacement) {
					t.Errorf("%d+%d bytes: String(%q) = %q, want one replacement", before, after, in, got)
					continue
				}
				if maxHead := (8*before + 5) / 6; len(head) > maxHead || !strings.HasPrefix(in, head) {
					t.Errorf("%d+%d bytes: String(%q) = %q, want at most %d characters kept before the replacement", before, after, in, got, maxHead)
				}
				if maxTail := len(in) - 8*(before+len(s))/6; len(tail) > maxTail || !strings.HasSuffix(in, tail) {
					t.Errorf("%d+%d bytes: String(%q) = %q, want at most %d characters kept after the replacement", before, after, in, got, maxTail)
				}
			}
		}
	}
}

func TestStringNoFalsePositive(t *testing.T) {
	t.Parallel()
	m := New(secret, "hunter22", "AKIAIOSFODNN7EXAMPLE", "ghp_16C7e42F292c6912E7710c838347Ae178B4a")
	for _, in := range []string{
		"",
		"step build: exit 0",
		"2024-05-01T10:00:00Z INFO pulling image golang:1.26 digest=sha256:" + strings.Repeat("0123456789abcdef", 4),
		base64.StdEncoding.EncodeToString([]byte(strings.Repeat("a config file that holds no secret\n", 20))),
		hex.EncodeToString([]byte("hunter21 hunter2 unter22")),
		"p&ss/w+rd <\"42\"", // the secret less its last byte
		"AKIAIOSFODNN7EXAMPL",
	} {
		if got := m.String(in); got != in {
			t.Errorf("String(%q) = %q, want it unchanged", in, got)
		}
		if m.Contains(in) {
			t.Errorf("Contains(%q) = true", in)
		}
	}
}

func TestStringOverlapping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		secrets []string
		in      string
		want    string
	}{
		{[]string{"abcdef", "defghi"}, "xabcdefghix", "x***x"},
		{[]string{"password", "word1234"}, "my password1234!", "my ***!"},
		{[]string{"supersecret", "secret"}, "a supersecret, a secret", "a ***, a ***"},
		{[]string{"secret", "supersecret"}, "supersecretsecret", "***"},
		{[]string{"aaaa"}, "aaaaaaa b aaa", "*** b aaa"},
		{[]string{"abab"}, "abababab-ab", "***-ab"},
	} {
		if got := New(tc.secrets...).String(tc.in); got != tc.want {
			t.Errorf("New(%q).String(%q) = %q, want %q", tc.secrets, tc.in, got, tc.want)
		}
	}
}

func TestNewSkipsShort(t *testing.T) {
	t.Parallel()
	m := New("", "a", "no", "yes", "yes", "four", "four")
	if m.Skipped() != 3 {
		t.Fatalf("Skipped = %d, want 3 (a, no, yes)", m.Skipped())
	}
	if got := m.String("a no yes four"); got != "a no yes ***" {
		t.Fatalf("String = %q, want only the 4-byte secret masked", got)
	}
	if got := New().String("anything"); got != "anything" {
		t.Fatalf("a Masker with no secrets changed text: %q", got)
	}
}

func TestLine(t *testing.T) {
	t.Parallel()
	m := New("hunter22")
	if got := m.Line("login hunter22 ok"); got != "login *** ok" {
		t.Fatalf("Line = %q", got)
	}
}
