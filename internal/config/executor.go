package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/baton-dev/baton/internal/pipeline"
)

// Executor is one entry of the file's executors: the name pipelines pick
// it by, its type, and the type's own fields, which only the executor
// registry knows; it reads them with [Executor.Decode].
type Executor struct {
	// Name is the registry name, the entry's key.
	Name string
	// Type says which kind of executor it is: docker, swarm, kubernetes …
	Type string

	file   string
	where  string // FILE:LINE of the entry; "" when made in code
	fields []pair // every field but type, in file order
}

// NewExecutor returns an entry made in code rather than read from a file,
// with no fields of its type's own: the one executor of a configuration
// whose file names none.
func NewExecutor(name, typ string) *Executor { return &Executor{Name: name, Type: typ} }

// Where is FILE:LINE of the entry, for messages; "" when it was made in
// code.
func (x *Executor) Where() string { return x.where }

// Errorf returns a problem with the entry, positioned at it.
func (x *Executor) Errorf(format string, args ...any) error {
	return &Error{Where: x.where, Key: keyExecutors + "." + x.Name, Msg: fmt.Sprintf(format, args...)}
}

// Decode sets the fields of the struct v points to from the entry's own
// fields, by their yaml tags. A field v does not have is an error at its
// line, naming the likely one and those allowed; so is a value of the
// wrong form. Use [Duration] and [Path] for durations and file paths.
func (x *Executor) Decode(v any) error {
	allowed := yamlNames(v)
	var errs errorList
	for _, f := range x.fields {
		if !slices.Contains(allowed, f.key.Value) {
			msg := fmt.Sprintf("type %s has no fields of its own", x.Type)
			if len(allowed) > 0 {
				msg = unknownKey(f.key.Value, allowed)
			}
			errs.add(&Error{Where: x.at(f.key), Key: keyExecutors + "." + x.Name, Msg: msg})
			continue
		}
		// One field at a time, so that every bad value is reported, not
		// only the first.
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{f.key, f.value}}
		if err := m.Decode(v); err != nil {
			errs.add(x.decodeErrors(err)...)
		}
	}
	return errs.err()
}

func (x *Executor) at(n *yaml.Node) string {
	if x.file == "" {
		return x.where
	}
	return x.file + ":" + strconv.Itoa(n.Line)
}

// decodeErrors turns yaml's "line N: …" errors into positioned ones.
func (x *Executor) decodeErrors(err error) []*Error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var errs []*Error
	for _, msg := range msgs {
		where := x.where
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			where, msg = x.file+":"+m[1], m[2]
		}
		errs = append(errs, &Error{Where: where, Key: keyExecutors + "." + x.Name, Msg: msg})
	}
	return errs
}

// yamlNames returns the keys the struct v points to takes, as yaml.v3
// reads them: the tag's name, else the field's name in lower case.
func yamlNames(v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		panic("config: Decode needs a pointer to a struct")
	}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		names = append(names, name)
	}
	return names
}

// Duration is a duration in a config file, as Go writes it (90s, 10m,
// 2h) or in whole days (30d). A bare number is refused: it would be read
// as nanoseconds.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fmt.Errorf("line %d: is %s; write a duration such as 90s or 10m", n.Line, pipeline.DescribeNode(n))
	}
	v, err := ParseAge(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// Path is a file path in a config file; ~/ at its start is the home
// directory.
type Path string

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *Path) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return fmt.Errorf("line %d: is %s; write a file path", n.Line, pipeline.DescribeNode(n))
	}
	*p = Path(expandHome(n.Value))
	return nil
}
