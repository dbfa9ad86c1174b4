package contract

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseOutputFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"blank lines", "\n\r\n  \n", map[string]string{}},
		{"simple", "a=1\nb=two words\n", map[string]string{"a": "1", "b": "two words"}},
		{"no final newline", "a=1", map[string]string{"a": "1"}},
		{"empty value", "a=\n", map[string]string{"a": ""}},
		{"first equals splits", "a=b=c\n", map[string]string{"a": "b=c"}},
		{"crlf", "a=1\r\nb<<EOF\r\nx\r\ny\r\nEOF\r\n", map[string]string{"a": "1", "b": "x\ny"}},
		{"last wins", "a=1\na=2\n", map[string]string{"a": "2"}},
		{"heredoc", "msg<<EOF\nline 1\n\nline 3\nEOF\nnext=x\n", map[string]string{"msg": "line 1\n\nline 3", "next": "x"}},
		{"heredoc empty", "a<<EOF\nEOF\n", map[string]string{"a": ""}},
		{"heredoc keeps equals and near delimiters", "a<<END\nk=v\n END\nEND \nEND\n", map[string]string{"a": "k=v\n END\nEND "}},
		{"equals before heredoc", "a=x<<EOF\n", map[string]string{"a": "x<<EOF"}},
		{"heredoc delimiter with equals", "a<<x=y\n1\nx=y\n", map[string]string{"a": "1"}},
		{"value with spaces kept", "a= x \n", map[string]string{"a": " x "}},
		{"unicode", "a=grüße ✓\n", map[string]string{"a": "grüße ✓"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseOutputFile([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseOutputFile(%q): %v", tt.in, err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseOutputFile(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseOutputFileErrors(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("v", MaxValueBytes)
	var many strings.Builder
	for i := range MaxVariables + 1 {
		many.WriteString("v" + strings.Repeat("_", i%200) + strings.Repeat("x", i/200) + "=\n")
	}
	tests := []struct {
		name, in string
		kind     error
		want     string
	}{
		{"missing equals", "a=1\n\nnonsense\n", ErrInvalid, `output file line 3: line is neither name=value nor name<<DELIMITER`},
		{"invalid name", "a=1\n1b=2\n", ErrInvalid, `output file line 2: variable name starts with a digit`},
		{"empty name", "=x\n", ErrInvalid, "output file line 1: variable name is empty"},
		{"name with space", "a b=1\n", ErrInvalid, `line 1: variable name has a character other than a letter, digit or _ at byte 2`},
		{"heredoc invalid name", "a-b<<EOF\nx\nEOF\n", ErrInvalid, `line 1: variable name has a character other than a letter, digit or _ at byte 2`},
		{"heredoc invalid name without delimiter", "a b<<\n", ErrInvalid, `line 1: variable name has a character`},
		{"name too long", strings.Repeat("n", MaxNameBytes+1) + "=1\n", ErrInvalid, `line 1: variable name is 257 bytes; the limit is 256`},
		{"unterminated heredoc", "a=1\nb<<END\nx\nEN\n", ErrInvalid, `output file line 2: value of b is not terminated: no line equal to its delimiter follows`},
		{"empty delimiter", "b<<\nx\n", ErrInvalid, "output file line 1: b<< has no delimiter; write e.g. b<<EOF"},
		{"nul in line", "a=x\x00y\n", ErrInvalid, "output file line 1: contains a NUL byte"},
		{"nul in heredoc", "a<<E\nx\x00\nE\n", ErrInvalid, "output file line 1: a: value contains a NUL byte"},
		{"invalid utf-8", "a=1\nb=\xff\n", ErrInvalid, "output file line 2: b: value is not valid UTF-8"},
		{"value too large", "a=" + big + "x\n", ErrTooLarge, "output file line 1: a: value is 262145 bytes; the limit is 262144"},
		{"heredoc too large", "a<<E\n" + big + "\nx\nE\n", ErrTooLarge, "output file line 1: value of a is over 262144 bytes"},
		{"total too large", "a=" + big + "\nb=" + big + "\nc=" + big + "\nd=" + big + "\n", ErrTooLarge, "output file: names and values total 1048580 bytes; the limit is 1048576"},
		{"too many", many.String(), ErrTooLarge, "output file line 1001: more than 1000 variables"},
		{"file too large", strings.Repeat("a=1\n", MaxInputBytes/4+1), ErrTooLarge, "output file is over 1114112 bytes, the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseOutputFile([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseOutputFile = %q, want error %q", got, tt.want)
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseOutputFile error = %q (is %v: %t), want it to contain %q", err, tt.kind, errors.Is(err, tt.kind), tt.want)
			}
		})
	}
}

// TestParseOutputFileQuotesNoContent feeds files a step could have made a
// copy of a secret, or linked to one: no error may quote any of it.
func TestParseOutputFileQuotesNoContent(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Marker"
	for _, in := range []string{
		secret + "\n",
		"root:" + secret + ":19000:0:99999:7:::\n",
		"a=1\n" + secret + " x=1\n",
		"9" + secret + "=1\n",
		secret + "-x=1\n",
		"a b " + secret + "<<EOF\nx\nEOF\n",
		"ok<<" + secret + "\nnever closed\n",
		"x" + strings.Repeat(secret, 30) + "=1\n",
		secret + "<<\n",
	} {
		_, err := ParseOutputFile([]byte(in))
		if err == nil {
			t.Errorf("ParseOutputFile(%q) succeeded, want an error", in)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") || strings.Contains(err.Error(), "Marker") {
			t.Errorf("ParseOutputFile(%q) error %q quotes the file", in, err)
		}
	}
}

// formatOutputFile writes outputs in heredoc form, choosing for each value a
// delimiter that none of its lines equals.
func formatOutputFile(outputs map[string]string) []byte {
	var b strings.Builder
	for name, value := range outputs {
		lines := make(map[string]bool)
		for l := range strings.SplitSeq(value, "\n") {
			lines[l] = true
		}
		delim := "EOF"
		for lines[delim] {
			delim += "_"
		}
		b.WriteString(name + "<<" + delim + "\n" + value + "\n" + delim + "\n")
	}
	return []byte(b.String())
}

func FuzzParseOutputFile(f *testing.F) {
	for _, seed := range []string{
		"",
		"a=1\nb=2\n",
		"a=1\r\nb=\r\n",
		"msg<<EOF\nline 1\n\nline 3\nEOF\n",
		"a<<E\r\nx\r\r\nE\r\n",
		"a<<EOF\nunterminated\n",
		"a=x<<y\nb<<x=y\nx=y\n",
		"bad line\n",
		"a=\xff\n",
		"a=\x00\n",
		"\x01\n",
		"a\x01=1\n",
		"a\x01<<\n",
		"a<<\x01\nx\n",
		"\x01a=1\n",
		"9\x01=1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseOutputFile(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			checkQuotesNothing(t, data, err)
			return
		}
		checkOutputs(t, got)
		again, err := ParseOutputFile(formatOutputFile(got))
		if err != nil {
			t.Fatalf("reparse of formatted %q: %v", got, err)
		}
		if !maps.Equal(got, again) {
			t.Fatalf("round trip changed outputs:\n got %q\nthen %q", got, again)
		}
	})
}

// checkQuotesNothing checks that err quotes nothing of data. A valid name
// cannot hold byte 0x01 and the parser's own text never does, so when data
// has one, it must be absent from the message, raw or escaped.
func checkQuotesNothing(t *testing.T, data []byte, err error) {
	t.Helper()
	if !bytes.ContainsRune(data, 1) {
		return
	}
	msg := err.Error()
	for _, form := range []string{"\x01", `\x01`, `\u0001`} {
		if strings.Contains(msg, form) {
			t.Fatalf("error %q quotes the file", msg)
		}
	}
}

// checkOutputs checks what every successful parse guarantees.
func checkOutputs(t *testing.T, outputs map[string]string) {
	t.Helper()
	if outputs == nil {
		t.Fatal("nil map with nil error")
	}
	for name, value := range outputs {
		if err := ValidName(name); err != nil {
			t.Fatalf("accepted name: %v", err)
		}
		if err := ValidValue(value); err != nil {
			t.Fatalf("accepted value of %s: %v", name, err)
		}
	}
	if err := CheckTotal(outputs); err != nil {
		t.Fatalf("accepted outputs: %v", err)
	}
}
