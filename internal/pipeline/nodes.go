package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/baton-dev/baton/internal/suggest"
)

// maxErrors bounds how many problems one Parse reports; past that, fixing the
// first ones is the better next step.
const maxErrors = 20

// maxVisits bounds the nodes read, aliases expanded, so that a small file
// cannot make Parse do unbounded work through repeated aliases.
const maxVisits = 1 << 20

// parser reads one file's yaml.Node tree, collecting positioned errors.
type parser struct {
	file   string
	errs   []*Error
	visits int
	// executors are the server's executors' names; nil: not checked.
	executors []string
	// missingTriggers are the trigger kinds the server lacks, with why.
	missingTriggers map[string]string
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and counts the visit. It returns nil once the visit
// budget is spent, after recording that as an error.
func (p *parser) resolve(n *yaml.Node) *yaml.Node {
	p.visits++
	if p.visits == maxVisits+1 {
		p.errorf(nil, "", "too many values once aliases (*name) are expanded; write the file out without so many aliases")
	}
	if p.visits > maxVisits {
		return nil
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// DescribeNode says what n is, for messages about YAML values of the wrong
// kind: "a mapping", "the number 3", "the string \"x\"" (long values cut).
func DescribeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!int", "!!float":
			return "the number " + v
		case "!!bool":
			return "the boolean " + v
		}
		return "the string " + strconv.Quote(v)
	}
	return "not a value"
}

// pair is one entry of a YAML mapping.
type pair struct {
	key   string
	line  int
	value *yaml.Node
}

// pairs returns the entries of the mapping n in order. It reports keys that
// are not plain strings and keys given twice; null stands for an empty
// mapping. It returns false when n is not a mapping.
func (p *parser) pairs(n *yaml.Node, field, hint string) ([]pair, bool) {
	if n = p.resolve(n); n == nil {
		return nil, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "is %s; write a mapping, %s", DescribeNode(n), hint)
		return nil, false
	}
	seen := make(map[string]int, len(n.Content)/2)
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := p.resolve(n.Content[i])
		if k == nil {
			return nil, false
		}
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, field, "a key is %s; keys must be plain words", DescribeNode(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			p.errorf(k, field, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, join(field, k.Value), "is given twice, here and at line %d; keep one", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{key: k.Value, line: k.Line, value: n.Content[i+1]})
	}
	return out, true
}

// fields returns the entries of the mapping n, a record with a fixed set of
// keys, reporting unknown keys with a suggestion.
func (p *parser) fields(n *yaml.Node, field string, allowed []string) (map[string]*yaml.Node, bool) {
	entries, ok := p.pairs(n, field, "with the fields "+list(allowed))
	if !ok {
		return nil, false
	}
	out := make(map[string]*yaml.Node, len(entries))
	for _, e := range entries {
		if !slices.Contains(allowed, e.key) {
			keyNode := &yaml.Node{Line: e.line}
			if s := suggest.Closest(e.key, allowed); s != "" {
				p.errorf(keyNode, field, "unknown field %.64q; did you mean %q? Allowed: %s", e.key, s, list(allowed))
			} else {
				p.errorf(keyNode, field, "unknown field %.64q; allowed: %s", e.key, list(allowed))
			}
			continue
		}
		out[e.key] = e.value
	}
	return out, true
}

// str reads a scalar as a string. Numbers and booleans are read as written,
// so env: {PORT: 8080} means "8080".
func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n = p.resolve(n); n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errorf(n, field, "is %s; write a string", DescribeNode(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	if n = p.resolve(n); n == nil {
		return false, false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		p.errorf(n, field, "is %s; write true or false", DescribeNode(n))
		return false, false
	}
	return b, true
}

func (p *parser) integer(n *yaml.Node, field string, lo, hi int) (int, bool) {
	return p.integerOr(n, field, lo, hi, "")
}

// integerOr is [parser.integer] with an alternative, such as leaving the
// field out, added to its messages when not "".
func (p *parser) integerOr(n *yaml.Node, field string, lo, hi int, alt string) (int, bool) {
	if n = p.resolve(n); n == nil {
		return 0, false
	}
	if alt != "" {
		alt = ", or " + alt
	}
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		p.errorf(n, field, "is %s; write a whole number from %d to %d%s", DescribeNode(n), lo, hi, alt)
		return 0, false
	}
	if i < lo || i > hi {
		p.errorf(n, field, "is %d; write a whole number from %d to %d%s", i, lo, hi, alt)
		return 0, false
	}
	return i, true
}

func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	if n = p.resolve(n); n == nil {
		return 0, false
	}
	const hint = "write e.g. 90s, 10m or 2h"
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errorf(n, field, "is %s; %s", DescribeNode(n), hint)
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.errorf(n, field, "%.64q is not a duration; %s", n.Value, hint)
		return 0, false
	}
	return d, true
}

// strings reads a list of strings. A plain string is an error: for command
// it would be ambiguous whether it is split by spaces or run by a shell.
func (p *parser) strings(n *yaml.Node, field, example string) ([]string, bool) {
	if n = p.resolve(n); n == nil {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "is %s; write a list, e.g. %s", DescribeNode(n), example)
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for i, item := range n.Content {
		item = p.resolve(item)
		if item != nil && item.Kind == yaml.ScalarNode && item.ShortTag() != "!!null" {
			out = append(out, item.Value)
			continue
		}
		if item != nil {
			// Formatting the field only here keeps long lists cheap.
			p.str(item, fmt.Sprintf("%s[%d]", field, i))
		}
		ok = false
	}
	return out, ok
}

// join builds a field path.
func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}
