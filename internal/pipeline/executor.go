package pipeline

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/baton-dev/baton/internal/suggest"
)

// executor reads an executor: field, a registry name. Its form is always
// checked; that the server has it only when the parser knows what the
// server has (see [Options.Executors]).
func (p *parser) executor(n *yaml.Node, field string) string {
	name, ok := p.str(n, field)
	if !ok {
		return ""
	}
	if problem := ExecutorNameProblem(name); problem != "" {
		p.errorf(n, field, "%.64q %s", name, problem)
		return name
	}
	if len(p.executors) > 0 && !slices.Contains(p.executors, name) {
		msg := fmt.Sprintf("%q is not an executor of this server; it has %s", name, list(p.executors))
		if s := suggest.Closest(name, p.executors); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		p.errorf(n, field, "%s; leave executor out for the server's default", msg)
	}
	return name
}

// ExecutorNameProblem says what is wrong with an executor's registry name,
// or "": the names a server's config file gives its executors follow the
// rule of pipeline and step names.
func ExecutorNameProblem(name string) string { return identProblem(name) }
