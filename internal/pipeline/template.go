package pipeline

import (
	"fmt"
	"slices"
	"text/template"
	"text/template/parse"
)

// refScope is what a var template may refer to.
type refScope struct {
	params  []string // declared params
	earlier []string // vars listed before this one
	later   []string // this var and those after it
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
			c.err = fmt.Errorf("refers to %s, but no such param is declared; declared params: %s", ref, list(c.scope.params))
		}
	case "Vars":
		switch {
		case len(ident) < 2 || slices.Contains(c.scope.earlier, ident[1]):
		case slices.Contains(c.scope.later, ident[1]):
			c.err = fmt.Errorf("refers to %s, which is not listed before it; a var may use only the vars above it", ref)
		default:
			c.err = fmt.Errorf("refers to %s, but there is no such var", ref)
		}
	case "Run":
		if len(ident) > 1 && ident[1] != "ID" && ident[1] != "Time" {
			c.err = fmt.Errorf("refers to %s; .Run has ID and Time", ref)
		}
	case "Pipeline":
		if len(ident) > 1 && ident[1] != "Name" {
			c.err = fmt.Errorf("refers to %s; .Pipeline has Name", ref)
		}
	default:
		c.err = fmt.Errorf("refers to %s; a var can use .Params.<name>, .Vars.<name>, .Run.ID, .Run.Time and .Pipeline.Name", ref)
	}
}
