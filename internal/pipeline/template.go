package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/baton-dev/baton/internal/suggest"
)

// refScope is what a var template may refer to.
type refScope struct {
	params  []string // declared params
	earlier []string // vars listed before this one
	later   []string // this var and those after it
	// steps, when set, makes the scope a step condition's (if:): any
	// .Vars.<name> (outputs are known only when the run gets there),
	// .Run.Status, .Run.FailedStep, .Run.Error, and .Steps.<step>.Status.
	steps []string
}

// checkRefs finds references in t to data a var template will not have, so
// that a typo such as .Params.regoin fails when the file is applied rather
// than when a run starts. Only references whose meaning is certain are
// checked: those from $, and those from dot where dot is still the data.
func checkRefs(t *template.Template, scope refScope) error {
	c := refChecker{scope: scope}
	// Templates made with {{define}} are not checked: there dot and $ are
	// whatever the caller passes.
	if t.Tree != nil {
		c.list(t.Tree.Root, true)
	}
	return c.err
}

type refChecker struct {
	scope refScope
	err   error
}

func (c *refChecker) list(l *parse.ListNode, dotIsData bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		c.node(n, dotIsData)
	}
}

func (c *refChecker) node(n parse.Node, dotIsData bool) {
	switch n := n.(type) {
	case *parse.ActionNode:
		c.pipe(n.Pipe, dotIsData)
	case *parse.IfNode:
		c.pipe(n.Pipe, dotIsData)
		c.list(n.List, dotIsData)
		c.list(n.ElseList, dotIsData)
	case *parse.RangeNode:
		c.pipe(n.Pipe, dotIsData)
		c.list(n.List, false)
		c.list(n.ElseList, dotIsData)
	case *parse.WithNode:
		c.pipe(n.Pipe, dotIsData)
		c.list(n.List, false)
		c.list(n.ElseList, dotIsData)
	case *parse.TemplateNode:
		c.pipe(n.Pipe, dotIsData)
	}
}

func (c *refChecker) pipe(p *parse.PipeNode, dotIsData bool) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			c.arg(arg, dotIsData)
		}
	}
}

func (c *refChecker) arg(n parse.Node, dotIsData bool) {
	switch n := n.(type) {
	case *parse.FieldNode:
		if dotIsData {
			c.path(n.Ident)
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			c.path(n.Ident[1:])
		}
	case *parse.PipeNode:
		c.pipe(n, dotIsData)
	case *parse.ChainNode:
		c.arg(n.Node, dotIsData)
	}
}

// path checks one reference such as .Params.region, given as its names.
func (c *refChecker) path(ident []string) {
	if c.err != nil {
		return
	}
	ref := "." + ident[0]
	if len(ident) > 1 {
		ref += "." + ident[1]
	}
	switch ident[0] {
	case "Params":
		if len(ident) > 1 && !slices.Contains(c.scope.params, ident[1]) {
			c.err = fmt.Errorf("refers to %s, but no such param is declared; %s", ref, namesHint(".Params.", ident[1], "declared params", c.scope.params))
		}
	case "Vars":
		switch {
		case c.scope.steps != nil:
		case len(ident) < 2 || slices.Contains(c.scope.earlier, ident[1]):
		case slices.Contains(c.scope.later, ident[1]):
			c.err = fmt.Errorf("refers to %s, which is not listed before it; a var may use only the vars above it", ref)
		default:
			c.err = fmt.Errorf("refers to %s, but there is no such var; %s", ref, namesHint(".Vars.", ident[1], "vars above it", c.scope.earlier))
		}
	case "Run":
		switch {
		case c.scope.steps != nil && len(ident) > 1 && slices.Contains(conditionRunFields, ident[1]):
		case c.scope.steps != nil && len(ident) > 1 && ident[1] != "ID" && ident[1] != "Time":
			c.err = fmt.Errorf("refers to %s; .Run has ID, Time, %s", ref, list(conditionRunFields))
		case len(ident) > 1 && ident[1] != "ID" && ident[1] != "Time":
			c.err = fmt.Errorf("refers to %s; .Run has ID and Time", ref)
		case len(ident) > 2 && ident[1] == "Time" && !isRunTimeMethod(ident[2]):
			c.err = fmt.Errorf("refers to %s.%.64s; .Run.Time has %s", ref, ident[2], list(runTimeMethods))
		}
	case "Pipeline":
		if len(ident) > 1 && ident[1] != "Name" {
			c.err = fmt.Errorf("refers to %s; .Pipeline has Name", ref)
		}
	case "Steps":
		switch {
		case c.scope.steps == nil:
			c.err = fmt.Errorf("refers to %s; a var can use .Params.<name>, .Vars.<name>, .Run.ID, .Run.Time and .Pipeline.Name", ref)
		case len(ident) > 1 && !slices.Contains(c.scope.steps, ident[1]):
			c.err = fmt.Errorf("refers to %s, but there is no such step; %s", ref, namesHint(".Steps.", ident[1], "steps", c.scope.steps))
		case len(ident) > 2 && ident[2] != "Status":
			c.err = fmt.Errorf("refers to %s.%.64s; a step has Status", ref, ident[2])
		}
	default:
		if c.scope.steps != nil {
			c.err = fmt.Errorf("refers to %s; a condition can use .Params.<name>, .Vars.<name>, .Run.ID, .Run.Time, .Run.Status, .Run.FailedStep, .Run.Error, .Steps.<step>.Status and .Pipeline.Name", ref)
			return
		}
		c.err = fmt.Errorf("refers to %s; a var can use .Params.<name>, .Vars.<name>, .Run.ID, .Run.Time and .Pipeline.Name", ref)
	}
}

// namesHint lists names under the heading what, first suggesting the one
// closest to word, written after prefix, when one is close:
// "did you mean .Params.region? Declared params: region and zone".
func namesHint(prefix, word, what string, names []string) string {
	if s := suggest.Closest(word, names); s != "" {
		return "did you mean " + prefix + s + "? " + strings.ToUpper(what[:1]) + what[1:] + ": " + list(names)
	}
	return what + ": " + list(names)
}

// templateErrorRE matches text/template's errors: "template: NAME:LINE:"
// or "template: NAME:LINE:COL:", then, for an error while executing,
// `executing "NAME" at <NODE>:`.
var templateErrorRE = regexp.MustCompile(`^template: [^:]*:(\d+)(?::(\d+))?: (?:executing "[^"]*" at (<.*?>): )?(.*)$`)

// templateError rewrites an error of text/template about a var's template
// for people: "line 1, column 10, at <.Params.nope>: map has no entry for
// key "nope"" rather than the package's own "template: a:1:10: executing
// "a" at <.Params.nope>: ...". errors.Is and errors.As still see err.
func templateError(err error) error {
	m := templateErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	msg := "line " + m[1]
	if m[2] != "" {
		msg += ", column " + m[2]
	}
	if m[3] != "" {
		msg += ", at " + m[3]
	}
	return &rewordedError{msg: msg + ": " + m[4], err: err}
}

// rewordedError is an error shown in other words.
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }
