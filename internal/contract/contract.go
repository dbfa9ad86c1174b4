// Package contract implements the step contract: variable names, the output
// file format, the callback body, and their limits.
package contract

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of the step contract.
const (
	// MaxValueBytes is the largest value one variable may hold.
	MaxValueBytes = 256 << 10
	// MaxOutputBytes bounds the outputs of one step taken together: the sum
	// of len(name)+len(value) over all of them.
	MaxOutputBytes = 1 << 20
	// MaxVariables is the most variables one run may hold.
	MaxVariables = 1000
	// MaxNameBytes is the longest variable name.
	MaxNameBytes = 256
	// MaxInputBytes is the most bytes read of one output file or callback
	// body. The slack over [MaxOutputBytes] leaves room for the syntax around
	// names and values; callers should read at most MaxInputBytes+1 bytes and
	// let the parsers report what is too large.
	MaxInputBytes = MaxOutputBytes + 64<<10
)

// Sentinel errors. Every error the parsers return for bad input wraps one of
// them, so that an HTTP handler can answer 400 or 413.
var (
	// ErrInvalid: the input breaks the contract's syntax or naming rules.
	ErrInvalid = errors.New("invalid step output")
	// ErrTooLarge: the input exceeds one of the limits.
	ErrTooLarge = errors.New("step output too large")
)

// inputError keeps the message free of the sentinel's own text while still
// matching it with errors.Is.
type inputError struct {
	msg  string
	kind error
}

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return e.kind }

func invalidf(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...), kind: ErrInvalid}
}

func tooLargef(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...), kind: ErrTooLarge}
}

// prefixed puts context before err's message and keeps its sentinel.
func prefixed(prefix string, err error) error {
	var ie *inputError
	if errors.As(err, &ie) {
		return &inputError{msg: prefix + ": " + ie.msg, kind: ie.kind}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// ValidName reports whether name may name a variable: it must match
// [A-Za-z_][A-Za-z0-9_]* and be at most [MaxNameBytes] long, because names
// become environment variable names. The error quotes the name and wraps
// [ErrInvalid].
func ValidName(name string) error {
	switch {
	case name == "":
		return invalidf("variable name is empty; %s", nameRule)
	case len(name) > MaxNameBytes:
		return invalidf("variable name %q is %d bytes; the limit is %d", abbrev(name), len(name), MaxNameBytes)
	case name[0] >= '0' && name[0] <= '9':
		return invalidf("variable name %q starts with a digit; %s", name, nameRule)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			r, size := utf8.DecodeRuneInString(name[i:])
			if r == utf8.RuneError && size <= 1 {
				return invalidf("variable name %q is not valid UTF-8; %s", name, nameRule)
			}
			return invalidf("variable name %q contains %q; %s", name, r, nameRule)
		}
	}
	return nil
}

const nameRule = "names use letters, digits and _, and do not start with a digit"

// checkUnquotedName is [ValidName] for names read from a file a step may
// have pointed at anything: the error says what is wrong and where, but
// quotes nothing of the name.
func checkUnquotedName(name string) error {
	switch {
	case name == "":
		return invalidf("variable name is empty; %s", nameRule)
	case len(name) > MaxNameBytes:
		return invalidf("variable name is %d bytes; the limit is %d", len(name), MaxNameBytes)
	case name[0] >= '0' && name[0] <= '9':
		return invalidf("variable name starts with a digit; %s", nameRule)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return invalidf("variable name has a character other than a letter, digit or _ at byte %d; %s", i+1, nameRule)
		}
	}
	return nil
}

func nameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ValidValue reports whether value may be a variable's value: at most
// [MaxValueBytes], valid UTF-8 and free of NUL bytes, because values end up
// in environment variables. The error wraps [ErrTooLarge] or [ErrInvalid].
func ValidValue(value string) error {
	if len(value) > MaxValueBytes {
		return tooLargef("value is %d bytes; the limit is %d (256 KiB)", len(value), MaxValueBytes)
	}
	if !utf8.ValidString(value) {
		return invalidf("value is not valid UTF-8")
	}
	if strings.IndexByte(value, 0) >= 0 {
		return invalidf("value contains a NUL byte, which an environment variable cannot hold")
	}
	return nil
}

// CheckTotal checks the limits on one step's outputs taken together: at most
// [MaxVariables] of them, and at most [MaxOutputBytes] of names and values.
// The error wraps [ErrTooLarge].
func CheckTotal(outputs map[string]string) error {
	if len(outputs) > MaxVariables {
		return tooLargef("%d variables; the limit is %d", len(outputs), MaxVariables)
	}
	total := 0
	for name, value := range outputs {
		total += len(name) + len(value)
	}
	if total > MaxOutputBytes {
		return tooLargef("names and values total %d bytes; the limit is %d (1 MiB)", total, MaxOutputBytes)
	}
	return nil
}

// abbrev shortens s for quoting in an error message.
func abbrev(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
