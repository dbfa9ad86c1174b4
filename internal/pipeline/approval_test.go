package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

func TestParseApproval(t *testing.T) {
	s, err := Parse("p.yaml", []byte(base+`  - name: gate
    approval: {timeout: 24h, message: "Deploy to prod?"}
  - {name: deploy, command: [d]}
  - name: open
    needs: [a]
    approval: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	gate := s.Steps[1]
	if gate.Approval == nil || gate.Approval.Message != "Deploy to prod?" || gate.Approval.Timeout != 24*time.Hour {
		t.Fatalf("gate approval: %+v", gate.Approval)
	}
	if len(gate.Command) != 0 || gate.Image != "" {
		t.Errorf("gate runs something: %+v", gate)
	}
	if s.Steps[2].Approval != nil || s.Steps[2].Needs[0] != "gate" {
		t.Errorf("deploy: %+v", s.Steps[2])
	}
	if a := s.Steps[3].Approval; a == nil || a.Timeout != 0 || a.Message != "" {
		t.Errorf("open approval: %+v", a)
	}
}

func TestParseApprovalErrors(t *testing.T) {
	for _, tc := range []struct {
		name, step string
		line       int
		want       string
	}{
		{"image", "{name: g, image: alpine, approval: {}}", 4, "steps[1].image: cannot be set on a step with approval"},
		{"command", "{name: g, command: [x], approval: {}}", 4, "steps[1].command: cannot be set on a step with approval"},
		{"secrets", "{name: g, secrets: [{name: s}], approval: {}}", 4, "steps[1].secrets: cannot be set on a step with approval"},
		{"retry", "{name: g, retry: {limit: 2}, approval: {}}", 4, "steps[1].retry: cannot be set on a step with approval: a decision is taken once"},
		{"step timeout", "{name: g, timeout: 1h, approval: {}}", 4, "write the wait's limit as approval.timeout instead"},
		{"unknown field", "{name: g, approval: {mesage: hi}}", 4, `steps[1].approval: unknown field "mesage"; did you mean "message"?`},
		{"misspelled approval", "{name: g, aproval: {}}", 4, `did you mean "approval"?`},
		{"not a mapping", "{name: g, approval: yes}", 4, "steps[1].approval: "},
		{"zero timeout", "{name: g, approval: {timeout: 0s}}", 4, "steps[1].approval.timeout: is 0s; write a duration above zero"},
		{"bad timeout", "{name: g, approval: {timeout: 1d}}", 4, `steps[1].approval.timeout: "1d" is not a duration`},
		{"message list", "{name: g, approval: {message: [a]}}", 4, "steps[1].approval.message: is a list; write a string"},
		{"long message", "{name: g, approval: {message: " + strings.Repeat("m", MaxApprovalMessage+1) + "}}", 4, "the limit is 4096"},
		{"no command, no approval", "{name: g}", 4, "missing command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(base+"  - "+tc.step+"\n"))
			if err == nil {
				t.Fatal("accepted")
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Line != tc.line {
				t.Errorf("error %v: want it at line %d", err, tc.line)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want it to say %q", err, tc.want)
			}
		})
	}
}

// TestApprovalMessageLimit: a message the parser takes is one the store
// keeps.
func TestApprovalMessageLimit(t *testing.T) {
	if MaxApprovalMessage != store.MaxApprovalText {
		t.Fatalf("MaxApprovalMessage %d, store.MaxApprovalText %d", MaxApprovalMessage, store.MaxApprovalText)
	}
}

func FuzzParseApproval(f *testing.F) {
	for _, seed := range []string{
		"{timeout: 24h, message: 'Deploy to prod?'}",
		"{}",
		"{timeout: -1s}",
		"{message: \"\\0\"}",
		"{message: &m x, timeout: *m}",
		"[a]",
		"{mesage: x}",
	} {
		f.Add(seed, "")
		f.Add(seed, "image: alpine, ")
	}
	f.Fuzz(func(t *testing.T, approval, extra string) {
		data := base + "  - {name: g, " + extra + "approval: " + approval + "}\n"
		s, err := Parse("fuzz.yaml", []byte(data))
		if err != nil {
			return
		}
		for _, st := range s.Steps {
			a := st.Approval
			if a == nil {
				continue
			}
			if st.Image != "" || len(st.Command) > 0 || len(st.Secrets) > 0 || st.Retry.Limit > 0 || st.Timeout != 0 {
				t.Fatalf("approval step %q runs something: %+v", st.Name, st)
			}
			if a.Timeout < 0 || approvalMessageProblem(a.Message) != "" {
				t.Fatalf("accepted approval %+v", a)
			}
		}
	})
}
