package contract

import (
	"strconv"
	"strings"
)

// ParseOutputFile parses the file a step writes at $BATON_OUTPUT. Each line
// is either
//
//	name=value
//
// where the value is everything after the first "=" and may be empty, or
//
//	name<<DELIM
//	line 1
//	line 2
//	DELIM
//
// where the value is the lines up to the one exactly equal to DELIM, joined
// with "\n" and without a trailing newline. Trailing carriage returns are
// dropped from every line so files written on Windows read the same. Blank
// lines between variables are ignored; when a name appears twice, the last
// value wins.
//
// A file over [MaxInputBytes] is rejected whole. Errors name the line and
// wrap [ErrInvalid] or [ErrTooLarge]. They never quote the file's content,
// only line numbers and names that passed [ValidName]: a step may have made
// the file a copy of anything it can read, a secret included.
func ParseOutputFile(data []byte) (map[string]string, error) {
	if len(data) > MaxInputBytes {
		return nil, tooLargef("output file is over %d bytes, the limit", MaxInputBytes)
	}
	p := outputParser{rest: string(data)}
	out := make(map[string]string)
	for {
		line, ok := p.next()
		if !ok {
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		start := p.lineNo
		name, value, err := p.variable(line)
		if err != nil {
			return nil, prefixed(lineContext(start), err)
		}
		if err := checkUnquotedName(name); err != nil {
			return nil, prefixed(lineContext(start), err)
		}
		if err := ValidValue(value); err != nil {
			return nil, prefixed(lineContext(start)+": "+name, err)
		}
		out[name] = value
		if len(out) > MaxVariables {
			return nil, tooLargef("%s: more than %d variables", lineContext(start), MaxVariables)
		}
	}
	if err := CheckTotal(out); err != nil {
		return nil, prefixed("output file", err)
	}
	return out, nil
}

type outputParser struct {
	rest   string
	lineNo int
}

// next returns the next line without its line ending.
func (p *outputParser) next() (string, bool) {
	if p.rest == "" {
		return "", false
	}
	line, rest, _ := strings.Cut(p.rest, "\n")
	p.rest = rest
	p.lineNo++
	return strings.TrimRight(line, "\r"), true
}

// variable reads one variable that starts at line, consuming the rest of a
// heredoc when line opens one.
func (p *outputParser) variable(line string) (name, value string, err error) {
	if strings.IndexByte(line, 0) >= 0 {
		return "", "", invalidf("contains a NUL byte")
	}
	eq := strings.IndexByte(line, '=')
	heredoc := strings.Index(line, "<<")
	if heredoc < 0 || eq >= 0 && eq < heredoc {
		if eq < 0 {
			return "", "", invalidf("line is neither name=value nor name<<DELIMITER")
		}
		return line[:eq], line[eq+1:], nil
	}
	name, delim := line[:heredoc], line[heredoc+2:]
	if err := checkUnquotedName(name); err != nil {
		return "", "", err
	}
	if delim == "" {
		return "", "", invalidf("%s<< has no delimiter; write e.g. %s<<EOF, the value's lines, then EOF on a line of its own", name, name)
	}
	var b strings.Builder
	for n := 0; ; n++ {
		l, ok := p.next()
		if !ok {
			return "", "", invalidf("value of %s is not terminated: no line equal to its delimiter follows", name)
		}
		if l == delim {
			return name, b.String(), nil
		}
		if n > 0 {
			b.WriteByte('\n')
		}
		if b.Len()+len(l) > MaxValueBytes {
			return "", "", tooLargef("value of %s is over %d bytes, the limit (256 KiB)", name, MaxValueBytes)
		}
		b.WriteString(l)
	}
}

func lineContext(n int) string {
	return "output file line " + strconv.Itoa(n)
}
