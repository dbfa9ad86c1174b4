package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/baton-dev/baton/internal/suggest"
)

// cmdFlags is the flag set of one command (or subcommand) and the synopsis
// its help shows.
type cmdFlags struct {
	*flag.FlagSet
	env *Env
	// path is the command's words after "baton", e.g. "tokens create".
	path string
	// usage is the synopsis after "baton", e.g. "tokens create --name NAME".
	usage string
}

// newFlags returns the flag set of the command at path. Its help, asked
// for with -h, goes to standard output; bad flags are a [usageError].
func newFlags(env *Env, path, usage string) *cmdFlags {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	// The flag package prints errors and usage itself; parse does instead.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &cmdFlags{FlagSet: fs, env: env, path: path, usage: usage}
}

// printHelp prints the command's synopsis, summary and flags.
func (f *cmdFlags) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: baton %s\n", f.usage)
	if c := findCommand(f.path); c != nil && c.summary != "" {
		fmt.Fprintf(w, "\n%s.\n", capitalize(c.summary))
	}
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprint(w, "\nFlags:\n")
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// parse parses flags that may stand before, between or after positional
// arguments, and returns the positional ones. -h prints the help to
// standard output and returns [flag.ErrHelp].
func parse(fs *cmdFlags, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printHelp(fs.env.Stdout)
				return nil, err
			}
			return nil, usageError{cmd: fs.path, msg: fs.explain(err)}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// explain adds a likely flag to the flag package's "not defined" error.
func (f *cmdFlags) explain(err error) string {
	msg := err.Error()
	if m, ok := f.withoutValue(msg); ok {
		return m
	}
	name, ok := strings.CutPrefix(msg, "flag provided but not defined: -")
	if !ok {
		return msg
	}
	var names []string
	f.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
	if s := suggest.Closest(strings.TrimPrefix(name, "-"), names); s != "" {
		return fmt.Sprintf("%s; did you mean --%s?", msg, s)
	}
	return msg
}

// withoutValue drops the value from the flag package's "invalid value"
// message for a NAME=VALUE flag, whose value may be a secret: the reason
// says what is wrong without it.
func (f *cmdFlags) withoutValue(msg string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "invalid value ")
	if !ok {
		return "", false
	}
	quoted, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", false
	}
	rest, ok = strings.CutPrefix(rest[len(quoted):], " for flag -")
	if !ok {
		return "", false
	}
	name, reason, ok := strings.Cut(rest, ": ")
	if !ok {
		return "", false
	}
	if fl := f.Lookup(name); fl == nil {
		return "", false
	} else if _, params := fl.Value.(paramFlag); !params {
		return "", false
	}
	return fmt.Sprintf("flag -%s: %s", name, reason), true
}

// outputFlag adds --output, checked as it is parsed: text or json.
func outputFlag(fs *cmdFlags) *string {
	o := outputFormat("text")
	fs.Var(&o, "output", "result `format`: text or json")
	return (*string)(&o)
}

// outputFormat is the value of --output.
type outputFormat string

func (o *outputFormat) String() string { return string(*o) }

func (o *outputFormat) Set(v string) error {
	switch v {
	case "text", "json":
		*o = outputFormat(v)
		return nil
	}
	return errors.New("use text or json")
}

// paramFlag collects repeated -p NAME=VALUE flags. A name given twice is
// refused: which of the two was meant is a guess, and a filter with both
// could match nothing. The values are not repeated in the error, as a
// value may be a secret.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE", v)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("%q is given twice; give each name once", name)
	}
	p[name] = value
	return nil
}

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// capitalize makes a summary a sentence.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
