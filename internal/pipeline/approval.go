package pipeline

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxApprovalMessage bounds an approval's message, in bytes: what the
// store keeps of it (store.MaxApprovalText).
const MaxApprovalMessage = 4096

// Approval makes a step wait for a person instead of running anything:
// an operator approves it, which succeeds the step with the values they
// pass as its outputs, or rejects it, which fails the step.
type Approval struct {
	// Message is shown to whoever decides.
	Message string
	// Timeout fails the step when nobody decided within it, counted from
	// when the step began to wait; zero means it waits as long as the run
	// may.
	Timeout time.Duration
}

var approvalFields = []string{"message", "timeout"}

// approvalExcludes are the step fields that make no sense on a step that
// runs nothing, each with what to do instead.
var approvalExcludes = []struct{ field, instead string }{
	{"image", "an approval step runs nothing; move the work to a step that needs this one"},
	{"command", "an approval step runs nothing; move the work to a step that needs this one"},
	{"env", "an approval step runs nothing; set env on the step that needs this one"},
	{"secrets", "an approval step runs nothing, so it has no secrets; give them to the step that needs this one"},
	{"retry", "a decision is taken once; remove retry"},
	{"timeout", "write the wait's limit as approval.timeout instead"},
	{"pull", "an approval step has no image; remove pull"},
	{"resources", "an approval step runs nothing; remove resources"},
	{"user", "an approval step runs nothing; remove user"},
	{"read_only", "an approval step runs nothing; remove read_only"},
	{"cap_add", "an approval step runs nothing; remove cap_add"},
	{"executor", "an approval step runs on no executor; remove executor"},
}

// approval reads a step's approval: and refuses the step's fields that an
// approval excludes (f are the step's fields), each at its line.
func (p *parser) approval(n *yaml.Node, field string, f map[string]*yaml.Node) *Approval {
	for _, x := range approvalExcludes {
		if v, ok := f[x.field]; ok {
			p.errorf(p.resolve(v), field+"."+x.field, "cannot be set on a step with approval: %s", x.instead)
		}
	}
	a := &Approval{}
	field += ".approval"
	af, ok := p.fields(n, field, approvalFields)
	if !ok {
		return a
	}
	if v, ok := af["message"]; ok {
		if msg, ok := p.str(v, field+".message"); ok {
			if problem := approvalMessageProblem(msg); problem != "" {
				p.errorf(v, field+".message", "%s", problem)
			}
			a.Message = msg
		}
	}
	if v, ok := af["timeout"]; ok {
		if d, ok := p.duration(v, field+".timeout"); ok {
			if d <= 0 {
				p.errorf(v, field+".timeout", "is %s; write a duration above zero, e.g. 24h, or leave timeout out to wait as long as the run may", d)
			}
			a.Timeout = d
		}
	}
	return a
}

// approvalMessageProblem says what is wrong with an approval's message,
// or "".
func approvalMessageProblem(msg string) string {
	switch {
	case len(msg) > MaxApprovalMessage:
		return fmt.Sprintf("is %d bytes; the limit is %d, so shorten it", len(msg), MaxApprovalMessage)
	case !utf8.ValidString(msg) || strings.ContainsRune(msg, 0):
		return "is not valid UTF-8 text, or holds a NUL byte; write plain text"
	}
	return ""
}
