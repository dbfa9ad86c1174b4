package pipeline

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/baton-dev/baton/internal/contract"
)

// Var templates come from the pipeline's author but run on the server, once
// per run, inside the call that submits it; triggers can be frequent. These
// limits keep one submit from spending more than about a second or a few
// megabytes in templates, whatever the templates say.
const (
	// maxTemplateBytes bounds one var's template. It also bounds the work
	// between two checks of the budget: a single action can compare or
	// index values only as often as its text is long.
	maxTemplateBytes = 16 << 10
	// maxTemplateLoops bounds the range iterations of all of one run's
	// vars together. Ranging over params or vars, even nested twice, stays
	// far below it.
	maxTemplateLoops = 100_000
	// maxTemplateTime bounds the time all of one run's vars take.
	maxTemplateTime = time.Second
	// maxVarsBytes bounds the values of all of one run's vars together: a
	// step could not be given more in its environment anyway (Linux allows
	// about 2 MiB for a program's arguments and environment).
	maxVarsBytes = contract.MaxOutputBytes
	// maxPrintfWidth bounds a printf width or precision, so that
	// {{ printf "%999999d" 1 }} cannot make a megabyte of spaces.
	maxPrintfWidth = 1000
	// maxLayoutBytes bounds a time layout given to .Run.Time.Format.
	maxLayoutBytes = 256
)

// tickFunc is the name of the function put at the start of every range
// body to count iterations. It is not a valid name in a template a user
// writes, since it is not defined when the template is parsed.
const tickFunc = "_baton_loop"

// parseVarTemplate parses one var's template and checks the limits that can
// be checked before it runs: its size, no {{define}}, {{block}} or
// {{template}} (they allow recursion, and a var has no use for them), and
// no range over a literal number above [maxTemplateLoops].
func parseVarTemplate(name, text string) (*template.Template, error) {
	if len(text) > maxTemplateBytes {
		return nil, fmt.Errorf("is %d bytes; a var's template may be at most %d (16 KiB): compute large values in a step and return them as outputs", len(text), maxTemplateBytes)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("is not a valid template: %w; see https://pkg.go.dev/text/template", templateError(err))
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("defines a template with {{define}} or {{block}}; a var's template may not define or call templates")
	}
	if t.Tree == nil {
		return t, nil
	}
	if err := checkLoops(t.Tree.Root); err != nil {
		return nil, err
	}
	return t, nil
}

// checkLoops walks the template for what parseVarTemplate refuses.
func checkLoops(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkLoops(c); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		return fmt.Errorf("calls template %.64q; a var's template may not define or call templates", n.Name)
	case *parse.RangeNode:
		if p := n.Pipe; p != nil && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
			if num, ok := p.Cmds[0].Args[0].(*parse.NumberNode); ok && num.IsInt && num.Int64 > maxTemplateLoops {
				return fmt.Errorf("ranges over %d; the vars of a run may loop at most %d times in all", num.Int64, maxTemplateLoops)
			}
		}
		return errors.Join(checkLoops(n.List), checkLoops(n.ElseList))
	case *parse.IfNode:
		return errors.Join(checkLoops(n.List), checkLoops(n.ElseList))
	case *parse.WithNode:
		return errors.Join(checkLoops(n.List), checkLoops(n.ElseList))
	}
	return nil
}

// countLoops puts a call of [tickFunc] at the start of every range body in
// t, so that the budget counts each iteration.
func countLoops(t *template.Template, tick any) {
	if t.Tree == nil {
		return
	}
	t.Funcs(template.FuncMap{tickFunc: tick})
	probe := template.Must(template.New("").Funcs(template.FuncMap{tickFunc: tick}).Parse("{{" + tickFunc + "}}"))
	call := probe.Tree.Root.Nodes[0]
	var walk func(l *parse.ListNode)
	walk = func(l *parse.ListNode) {
		if l == nil {
			return
		}
		for _, n := range l.Nodes {
			switch n := n.(type) {
			case *parse.RangeNode:
				walk(n.List)
				walk(n.ElseList)
				n.List.Nodes = append([]parse.Node{call}, n.List.Nodes...)
			case *parse.IfNode:
				walk(n.List)
				walk(n.ElseList)
			case *parse.WithNode:
				walk(n.List)
				walk(n.ElseList)
			}
		}
	}
	walk(t.Tree.Root)
}

// budget is what the vars of one run may still spend. Once spent, err says
// why, and every later check fails with it.
type budget struct {
	deadline time.Time
	now      func() time.Time
	loops    int
	calls    int
	err      error
}

func newBudget(now func() time.Time) *budget {
	return &budget{deadline: now().Add(maxTemplateTime), now: now}
}

// check fails once the time is up. It reads the clock only every few
// calls: a loop's iteration costs little more than the clock does.
func (b *budget) check() error {
	if b.err != nil {
		return b.err
	}
	b.calls++
	if b.calls%16 == 1 && b.now().After(b.deadline) {
		b.err = fmt.Errorf("the vars took more than %s to evaluate; simplify the templates, or compute the value in a step", maxTemplateTime)
	}
	return b.err
}

// loop counts one range iteration; it is the [tickFunc].
func (b *budget) loop() (string, error) {
	if b.loops++; b.loops > maxTemplateLoops && b.err == nil {
		b.err = fmt.Errorf("the vars loop more than %d times in all; range over fewer values", maxTemplateLoops)
	}
	return "", b.check()
}

// fail records err as the reason evaluation stopped.
func (b *budget) fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return b.err
}

// funcs returns the built-in functions that build strings, bounded: their
// arguments and results at most [contract.MaxValueBytes], printf widths
// at most [maxPrintfWidth], each call counted against the time.
func (b *budget) funcs() template.FuncMap {
	escaper := func(name string, escape func(...any) string) func(...any) (string, error) {
		return func(args ...any) (string, error) {
			if err := b.sized(name, 0, args); err != nil {
				return "", err
			}
			return b.result(name, escape(args...))
		}
	}
	return template.FuncMap{
		"print":    escaper("print", fmt.Sprint),
		"println":  escaper("println", fmt.Sprintln),
		"html":     escaper("html", template.HTMLEscaper),
		"js":       escaper("js", template.JSEscaper),
		"urlquery": escaper("urlquery", template.URLQueryEscaper),
		"printf": func(format string, args ...any) (string, error) {
			if err := b.sized("printf", len(format), args); err != nil {
				return "", err
			}
			if err := printfWidths(format); err != nil {
				return "", b.fail(err)
			}
			return b.result("printf", fmt.Sprintf(format, args...))
		},
	}
}

// sized checks the time and that the arguments of a call, with n bytes
// more, are not too large to work on.
func (b *budget) sized(name string, n int, args []any) error {
	if err := b.check(); err != nil {
		return err
	}
	for _, a := range args {
		n += valueSize(reflect.ValueOf(a), 0)
	}
	if n > contract.MaxValueBytes {
		return b.fail(fmt.Errorf("%s is given about %d bytes, more than the %d a value may hold", name, n, contract.MaxValueBytes))
	}
	return nil
}

// result checks the size of what a call made.
func (b *budget) result(name, s string) (string, error) {
	if len(s) > contract.MaxValueBytes {
		return "", b.fail(fmt.Errorf("%s makes %d bytes, more than the %d a value may hold", name, len(s), contract.MaxValueBytes))
	}
	return s, nil
}

// valueSize estimates how many bytes fmt writes for v with %v, to refuse a
// call on too much before it is made. It need not be exact.
func valueSize(v reflect.Value, depth int) int {
	const leaf = 32 // a number, a bool, a pointer
	if !v.IsValid() || depth > 4 {
		return leaf
	}
	if !v.CanInterface() {
		return leaf
	}
	if s, ok := v.Interface().(fmt.Stringer); ok && v.Kind() != reflect.Pointer {
		return len(s.String())
	}
	switch v.Kind() {
	case reflect.String:
		return v.Len()
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Len()
		}
		n := 2
		for i := range v.Len() {
			n += valueSize(v.Index(i), depth+1) + 1
		}
		return n
	case reflect.Map:
		n := 5
		for it := v.MapRange(); it.Next(); {
			n += valueSize(it.Key(), depth+1) + valueSize(it.Value(), depth+1) + 2
		}
		return n
	case reflect.Struct:
		n := 2
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n += valueSize(v.Field(i), depth+1) + 1
			} else {
				n += leaf
			}
		}
		return n
	case reflect.Interface:
		return valueSize(v.Elem(), depth+1)
	}
	return leaf
}

// printfWidths refuses a printf format whose widths or precisions are over
// [maxPrintfWidth] or come from an argument ('*'), whose size a format
// cannot bound.
func printfWidths(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			i++
			continue
		}
		// Flags, argument indexes, width and precision, up to the verb.
	directive:
		for i++; i < len(format); i++ {
			switch c := format[i]; {
			case c == '*':
				return fmt.Errorf("printf: a width or precision from an argument (*) is not allowed; write it as a number of at most %d", maxPrintfWidth)
			case c >= '0' && c <= '9':
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				if n, _ := strconv.Atoi(format[i:j]); j-i > 4 || n > maxPrintfWidth {
					return fmt.Errorf("printf: a width or precision is over %d, the limit", maxPrintfWidth)
				}
				i = j - 1
			case c == '+' || c == '-' || c == '#' || c == ' ' || c == '.' || c == '[' || c == ']':
			default:
				break directive
			}
		}
	}
	return nil
}
