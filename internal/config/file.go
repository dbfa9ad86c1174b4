package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/baton-dev/baton/internal/pipeline"
)

// MaxFileBytes is the largest config file read.
const MaxFileBytes = 1 << 20

// fileReader reads one config file, collecting positioned problems.
type fileReader struct {
	file string
	errs []*Error
}

func (r *fileReader) errorf(n *yaml.Node, key, format string, args ...any) {
	r.errs = append(r.errs, &Error{Where: r.at(n), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// at is FILE:LINE of n, or FILE.
func (r *fileReader) at(n *yaml.Node) string {
	if n == nil || n.Line == 0 {
		return r.file
	}
	return r.file + ":" + strconv.Itoa(n.Line)
}

// parseFile applies a config file's content to c and returns what is
// wrong with it.
func parseFile(c *Config, file string, data []byte) []*Error {
	r := &fileReader{file: file}
	if len(data) > MaxFileBytes {
		r.errorf(nil, "", "the file is %d bytes; the limit is %d (1 MiB)", len(data), MaxFileBytes)
		return r.errs
	}
	root := r.document(data)
	if root == nil {
		return r.errs
	}
	if root.Kind != yaml.MappingNode {
		r.errorf(root, "", "the file is %s; a config is a mapping such as listen: ':8080'", pipeline.DescribeNode(root))
		return r.errs
	}
	for _, p := range r.pairs(root, "") {
		if p.key.Value == keyExecutors {
			c.Executors = r.executors(p.value)
			c.origin[keyExecutors] = r.at(p.key)
			continue
		}
		f := lookupField(p.key.Value)
		if f == nil {
			r.errorf(p.key, "", "%s", unknownKey(p.key.Value, Keys()))
			continue
		}
		values, ok := r.values(p.value, f)
		if !ok {
			continue
		}
		if msg := c.set(f, values, r.at(p.value), true); msg != "" {
			r.errorf(p.value, f.key, "%s", msg)
		}
	}
	return r.errs
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// document returns the top node of the file's only YAML document; nil
// when the file is empty or broken, the latter recorded.
func (r *fileReader) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			r.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		r.errorf(&extra, "", "a second YAML document starts here; a config file holds one, so remove the --- and what follows")
		return nil
	case !errors.Is(err, io.EOF):
		r.yamlError(err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil // an empty file: nothing but the defaults
	}
	if n := findAlias(root, 0); n != nil {
		r.errorf(n, "", "aliases (*name) are not supported in a config file; write the value out")
		return nil
	}
	return root
}

// findAlias returns the first alias under n, or nil.
func findAlias(n *yaml.Node, depth int) *yaml.Node {
	if n.Kind == yaml.AliasNode || depth > 100 {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c, depth+1); a != nil {
			return a
		}
	}
	return nil
}

func (r *fileReader) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		r.errorf(&yaml.Node{Line: line}, "", "not valid YAML: %s", m[2])
		return
	}
	r.errorf(nil, "", "not valid YAML: %s", msg)
}

// pair is one entry of a mapping.
type pair struct{ key, value *yaml.Node }

// pairs returns the entries of mapping n, refusing keys that are not plain
// words, merge keys and keys given twice. field names n in messages.
func (r *fileReader) pairs(n *yaml.Node, field string) []pair {
	seen := make(map[string]int)
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch {
		case k.Kind != yaml.ScalarNode:
			r.errorf(k, field, "a key is %s; keys must be plain words", pipeline.DescribeNode(k))
			continue
		case k.ShortTag() == "!!merge":
			r.errorf(k, field, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			r.errorf(k, join(field, k.Value), "is given twice, here and at line %d; keep one", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{key: k, value: n.Content[i+1]})
	}
	return out
}

// values returns the text of a key's value: one scalar, or for a list key
// a scalar or a list of them.
func (r *fileReader) values(n *yaml.Node, f *field) ([]string, bool) {
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		r.errorf(n, f.key, "is empty; give a value, or leave %s out for the default", f.key)
		return nil, false
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}, true
	case n.Kind == yaml.MappingNode && f.key == keyRetention:
		return r.retention(n)
	case n.Kind == yaml.SequenceNode && f.kind == kindList:
		out := make([]string, 0, len(n.Content))
		for i, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.ShortTag() == "!!null" {
				r.errorf(item, fmt.Sprintf("%s[%d]", f.key, i), "is %s; write a string", pipeline.DescribeNode(item))
				return nil, false
			}
			out = append(out, item.Value)
		}
		return out, true
	case f.kind == kindList:
		r.errorf(n, f.key, "is %s; write a string or a list of strings", pipeline.DescribeNode(n))
	default:
		r.errorf(n, f.key, "is %s; write a single value", pipeline.DescribeNode(n))
	}
	return nil, false
}

// keyRetention may be written as a mapping of what is kept how long:
// retention: {runs: 90d}. Runs are all there is to keep today; their steps,
// logs and outputs go with them.
const keyRetention = "retention"

// retention reads retention: {runs: AGE}.
func (r *fileReader) retention(n *yaml.Node) ([]string, bool) {
	var value []string
	for _, p := range r.pairs(n, keyRetention) {
		if p.key.Value != "runs" {
			r.errorf(p.key, keyRetention, "%s", unknownKey(p.key.Value, []string{"runs"}))
			return nil, false
		}
		if p.value.Kind != yaml.ScalarNode || p.value.ShortTag() == "!!null" {
			r.errorf(p.value, keyRetention+".runs", "is %s; write a duration such as 90d", pipeline.DescribeNode(p.value))
			return nil, false
		}
		value = []string{p.value.Value}
	}
	if value == nil {
		r.errorf(n, keyRetention, "is an empty mapping; write retention: {runs: 90d}")
		return nil, false
	}
	return value, true
}

// executors reads the executors mapping: name → {type: TYPE, ...}.
func (r *fileReader) executors(n *yaml.Node) map[string]*Executor {
	const hint = "e.g. executors: {local: {type: docker}}"
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		r.errorf(n, keyExecutors, "is %s; write a mapping of names to executors, %s", pipeline.DescribeNode(n), hint)
		return nil
	}
	out := make(map[string]*Executor)
	for _, p := range r.pairs(n, keyExecutors) {
		name := p.key.Value
		key := keyExecutors + "." + name
		if problem := pipeline.ExecutorNameProblem(name); problem != "" {
			r.errorf(p.key, keyExecutors, "%.64q %s", name, problem)
			continue
		}
		if p.value.Kind != yaml.MappingNode {
			r.errorf(p.value, key, "is %s; write a mapping with a type, %s", pipeline.DescribeNode(p.value), hint)
			continue
		}
		x := &Executor{Name: name, where: r.at(p.key), file: r.file}
		for _, f := range r.pairs(p.value, key) {
			if f.key.Value != "type" {
				x.fields = append(x.fields, f)
				continue
			}
			if f.value.Kind != yaml.ScalarNode || f.value.ShortTag() != "!!str" {
				r.errorf(f.value, key+".type", "is %s; write the executor's type, such as docker", pipeline.DescribeNode(f.value))
				continue
			}
			x.Type = f.value.Value
		}
		if x.Type == "" {
			r.errorf(p.key, key, "has no type; add one, such as type: docker")
			continue
		}
		out[name] = x
	}
	return out
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}
