package contract

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "_", "A_1", "_9", strings.Repeat("x", MaxNameBytes)} {
		if err := ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", name, err)
		}
	}
	tests := []struct {
		name, want string
	}{
		{"", "empty"},
		{"1a", `"1a" starts with a digit`},
		{"a-b", `"a-b" contains '-'`},
		{"a b", `contains ' '`},
		{"é", `contains 'é'`},
		{"a\xff", `"a\xff" is not valid UTF-8`},
		{strings.Repeat("x", MaxNameBytes+1), "is 257 bytes; the limit is 256"},
	}
	for _, tt := range tests {
		err := ValidName(tt.name)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidName(%q) = %v, want ErrInvalid containing %q", tt.name, err, tt.want)
		}
	}
}

func TestValidValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  error
	}{
		{"", nil},
		{"multi\nline\r\n\ttabs ünïcode", nil},
		{strings.Repeat("v", MaxValueBytes), nil},
		{strings.Repeat("v", MaxValueBytes+1), ErrTooLarge},
		{"a\xffb", ErrInvalid},
		{"a\x00b", ErrInvalid},
	}
	for _, tt := range tests {
		if err := ValidValue(tt.value); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("ValidValue(%.20q) = %v, want %v", tt.value, err, tt.want)
		}
	}
}

func TestCheckTotal(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("v", MaxValueBytes)
	ok := map[string]string{"a": big, "b": big, "c": big, "d": big[:len(big)-4]}
	if err := CheckTotal(ok); err != nil {
		t.Errorf("CheckTotal(exactly 1 MiB) = %v", err)
	}
	ok["d"] = big[:len(big)-3]
	if err := CheckTotal(ok); !errors.Is(err, ErrTooLarge) {
		t.Errorf("CheckTotal(1 MiB + 1) = %v, want ErrTooLarge", err)
	}
	many := make(map[string]string)
	for i := range MaxVariables + 1 {
		many["v"+strings.Repeat("_", i)] = ""
	}
	if err := CheckTotal(many); !errors.Is(err, ErrTooLarge) {
		t.Errorf("CheckTotal(%d variables) = %v, want ErrTooLarge", len(many), err)
	}
}
