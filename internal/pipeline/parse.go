package pipeline

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/baton-dev/baton/internal/contract"
	"gopkg.in/yaml.v3"
)

// MaxFileBytes is the largest pipeline file [Parse] accepts.
const MaxFileBytes = 1 << 20

var topFields = []string{"name", "env_prefix", "description", "params", "vars", "schedules", "steps", "timeout", "concurrency", "executor", "triggers", "finally", "notify"}

// maxConcurrency bounds concurrency:; a larger number is no limit in practice,
// and leaving concurrency out says so.
const maxConcurrency = 10000

// Parse reads and validates one pipeline file. filename is used only in
// error messages. Every error names the file, the line and the field, and
// says what to write instead; when the file has several problems they are
// joined, each an [*Error], in line order.
//
// After Parse, [Step.Needs] holds every step's effective dependencies;
// [Spec.EnvPrefix], [Step.Pull], [Retry.MaxBackoff], [Schedule.Overlap] and
// [Schedule.Catchup] hold their defaults when the file left them out; and
// every [Schedule] has its Key and is ready for [Schedule.Next].
func Parse(filename string, data []byte) (*Spec, error) {
	return ParseWith(filename, data, nil)
}

// Options say what a server offers, for [ParseWith] to check a file
// against.
type Options struct {
	// Executors are the registry names of the server's executors. When
	// set, an executor: naming another is an error at its line that lists
	// them; when empty, executor names are checked only for their form.
	Executors []string
	// MissingTriggers are the kinds of trigger this server cannot run,
	// each with why and how to get one that can; a trigger of such a kind
	// is an error at its line.
	MissingTriggers map[string]string
}

// ParseWith is [Parse] that also checks the file against what the server
// offers; o may be nil.
func ParseWith(filename string, data []byte, o *Options) (*Spec, error) {
	if o == nil {
		o = &Options{}
	}
	if len(data) > MaxFileBytes {
		return nil, &Error{File: filename, Msg: fmt.Sprintf("the file is %d bytes; the limit is %d (1 MiB)", len(data), MaxFileBytes)}
	}
	root, err := decodeDocument(filename, data)
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename, executors: o.Executors, missingTriggers: o.MissingTriggers}
	s := p.spec(root)
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	return s, nil
}

// err returns the collected errors, in line order.
func (p *parser) err() error {
	errs := p.errs
	slices.SortStableFunc(errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	if len(errs) > maxErrors {
		more := &Error{File: p.file, Msg: fmt.Sprintf("and %d more problems", len(errs)-maxErrors)}
		errs = append(errs[:maxErrors:maxErrors], more)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeDocument returns the top node of the file's only YAML document.
func decodeDocument(filename string, data []byte) (*yaml.Node, error) {
	const emptyHint = "the file is empty; a pipeline needs at least name: and steps:"
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: filename, Msg: emptyHint}
		}
		return nil, yamlError(filename, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{File: filename, Line: extra.Line, Msg: "a second YAML document starts here; a file holds one pipeline, so remove the --- and what follows or move it to its own file"}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(filename, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{File: filename, Msg: emptyHint}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, &Error{File: filename, Msg: emptyHint}
	}
	return root, nil
}

func yamlError(filename string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: filename, Line: line, Msg: "not valid YAML: " + m[2]}
	}
	return &Error{File: filename, Msg: "not valid YAML: " + msg}
}

func (p *parser) spec(root *yaml.Node) *Spec {
	s := &Spec{EnvPrefix: DefaultEnvPrefix}
	if r := p.resolve(root); r != nil && r.Kind != yaml.MappingNode {
		p.errorf(r, "", "the file is %s; a pipeline is a mapping with name:, steps: and optionally params:, vars:, schedules:", DescribeNode(r))
		return nil
	}
	f, ok := p.fields(root, "", topFields)
	if !ok {
		return nil
	}
	if n, ok := f["name"]; !ok {
		p.errorf(root, "", "missing name; add e.g. name: nightly-report")
	} else if name, ok := p.str(n, "name"); ok {
		if problem := identProblem(name); problem != "" {
			p.errorf(n, "name", "%.64q %s", name, problem)
		}
		s.Name = name
	}
	// varPrefix is the prefix var names are checked with; "" when env_prefix
	// is wrong, which is reported once rather than for every var.
	varPrefix := DefaultEnvPrefix
	if n, ok := f["env_prefix"]; ok {
		varPrefix = ""
		if prefix, ok := p.str(n, "env_prefix"); ok {
			if problem := envPrefixProblem(prefix); problem != "" {
				p.errorf(n, "env_prefix", "%s", problem)
			} else {
				varPrefix = prefix
			}
			s.EnvPrefix = prefix
		}
	}
	if n, ok := f["description"]; ok {
		s.Description, _ = p.str(n, "description")
	}
	if n, ok := f["timeout"]; ok {
		if d, ok := p.duration(n, "timeout"); ok {
			if d <= 0 {
				p.errorf(n, "timeout", "is %s; write a duration above zero, or leave timeout out for none", d)
			}
			s.Timeout = d
		}
	}
	if n, ok := f["concurrency"]; ok {
		s.Concurrency, _ = p.integerOr(n, "concurrency", 1, maxConcurrency, "leave concurrency out for no limit")
	}
	if n, ok := f["executor"]; ok {
		s.Executor = p.executor(n, "executor")
	}
	if n, ok := f["params"]; ok {
		s.Params = p.params(n)
	}
	if n, ok := f["vars"]; ok {
		s.Vars = p.vars(n, s.Params, varPrefix)
	}
	if n, ok := f["steps"]; !ok {
		p.errorf(root, "", "missing steps; add a list of steps, e.g. steps: [{name: hello, image: alpine, command: [echo, hi]}]")
	} else {
		var nodes []stepNodes
		s.Steps, nodes = p.steps(n, s.EnvPrefix, "steps")
		if fn, ok := f["finally"]; ok && len(s.Steps) > 0 {
			finally, fnodes := p.steps(fn, s.EnvPrefix, "finally")
			for i := range finally {
				if finally[i].Needs == nil {
					finally[i].Needs = []string{} // the first waits for no finally step
				}
			}
			for i, st := range finally {
				for j, other := range s.Steps {
					if st.Name != "" && st.Name == other.Name {
						p.errorf(fnodes[i].step, fmt.Sprintf("finally[%d].name", i), "%q is also the name of steps[%d]; step names must be unique", st.Name, j)
					}
				}
			}
			s.Steps = append(s.Steps, finally...)
			nodes = append(nodes, fnodes...)
		}
		p.checkConditions(s, nodes)
		p.checkSubPipelines(s, nodes)
	}
	if n, ok := f["schedules"]; ok {
		s.Schedules = p.schedules(n, s)
	}
	if n, ok := f["triggers"]; ok {
		s.Triggers = p.triggers(n)
	}
	if n, ok := f["notify"]; ok {
		s.Notify = p.notify(n)
	}
	return s
}

// identProblem says what is wrong with a pipeline or step name, or "".
func identProblem(name string) string {
	const rule = "use lowercase letters, digits, - and _, starting with a letter or digit, at most 63 characters"
	if name == "" {
		return "is empty; " + rule
	}
	if len(name) > 63 {
		return fmt.Sprintf("is %d characters long; %s", len(name), rule)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		lowerOrDigit := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !lowerOrDigit && (i == 0 || c != '-' && c != '_') {
			return "is not a valid name; " + rule
		}
	}
	return ""
}

// envPrefixProblem says what is wrong with an env_prefix, or "". A prefix
// that could produce one of baton's own BATON_ names would let a variable
// override, say, BATON_TOKEN or BATON_OUTPUT; one that starts with a family
// of names programs read as they start ([varNamespaces]: LD_, GIT_, NODE_
// and so on) would put every variable in it. Other prefixes can still make
// a dangerous name of a particular var or output ("G" and IT_SSH_COMMAND):
// [CheckVarName] refuses those names.
func envPrefixProblem(prefix string) string {
	if prefix == "" {
		return "is empty; leave env_prefix out for the default " + DefaultEnvPrefix + ", or write a prefix such as ___"
	}
	if err := contract.ValidName(prefix); err != nil {
		return fmt.Sprintf("%.64q is not a valid start of an environment variable name; use letters, digits and _, not starting with a digit, e.g. ___ or MYAPP_", prefix)
	}
	if strings.HasPrefix("BATON_", prefix) || strings.HasPrefix(prefix, "BATON_") && !strings.HasPrefix(prefix, DefaultEnvPrefix) {
		return fmt.Sprintf("%q could make a variable's name clash with baton's own BATON_ variables; use %s or a prefix of your own such as ___", prefix, DefaultEnvPrefix)
	}
	for _, ns := range varNamespaces {
		if strings.HasPrefix(prefix, ns.prefix) {
			return fmt.Sprintf("%.64q would make every variable a name starting with %s, and %s; use a prefix of your own such as ___ or MYAPP_", prefix, ns.prefix, ns.why)
		}
	}
	return ""
}

func (p *parser) params(n *yaml.Node) []Param {
	entries, _ := p.pairs(n, "params", "e.g. params: {target: {required: true}}")
	out := make([]Param, 0, len(entries))
	for _, e := range entries {
		field := "params." + e.key
		if err := contract.ValidName(e.key); err != nil {
			p.errorf(&yaml.Node{Line: e.line}, field, "is not a valid param name: %v", err)
			continue
		}
		param := Param{Name: e.key}
		f, _ := p.fields(e.value, field, []string{"required", "default", "description"})
		if v, ok := f["required"]; ok {
			param.Required, _ = p.boolean(v, field+".required")
		}
		if v, ok := f["default"]; ok {
			if def, ok := p.str(v, field+".default"); ok {
				if err := contract.ValidValue(def); err != nil {
					p.errorf(v, field+".default", "%v", err)
				}
				param.Default = &def
			}
			if param.Required {
				p.errorf(v, field, "is required and has a default; a default makes it optional, so remove one of them")
			}
		}
		if v, ok := f["description"]; ok {
			param.Description, _ = p.str(v, field+".description")
		}
		out = append(out, param)
	}
	return out
}

// vars reads the vars mapping. envPrefix is what steps see before each
// name, or "" to leave the prefixed names unchecked.
func (p *parser) vars(n *yaml.Node, params []Param, envPrefix string) []Var {
	entries, _ := p.pairs(n, "vars", `e.g. vars: {region: "{{ .Params.region }}"}`)
	if len(entries) > contract.MaxVariables {
		p.errorf(n, "vars", "has %d vars; the limit is %d", len(entries), contract.MaxVariables)
		return nil
	}
	declared := make([]string, len(params))
	for i, param := range params {
		declared[i] = param.Name
	}
	all := make([]string, 0, len(entries))
	for _, e := range entries {
		all = append(all, e.key)
	}
	out := make([]Var, 0, len(entries))
	for i, e := range entries {
		field := "vars." + e.key
		if err := contract.ValidName(e.key); err != nil {
			p.errorf(&yaml.Node{Line: e.line}, field, "is not a valid var name: %v", err)
			continue
		}
		if envPrefix != "" {
			if err := CheckVarName(envPrefix, e.key); err != nil {
				p.errorf(&yaml.Node{Line: e.line}, field, "%v", err)
				continue
			}
		}
		text, ok := p.str(e.value, field)
		if !ok {
			continue
		}
		t, err := parseVarTemplate(e.key, text)
		if err != nil {
			p.errorf(e.value, field, "%v", err)
			continue
		}
		if err := checkRefs(t, refScope{params: declared, earlier: all[:i], later: all[i:]}); err != nil {
			p.errorf(e.value, field, "%v", err)
			continue
		}
		out = append(out, Var{Name: e.key, Template: text})
	}
	return out
}
