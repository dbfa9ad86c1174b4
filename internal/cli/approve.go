package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/pipeline"
)

func runsApprove(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "runs approve", "runs approve RUN STEP [--reject] [--reason TEXT] [-v NAME=VALUE]...")
	reject := fs.Bool("reject", false, "reject the step instead: it fails, with the reason")
	reason := fs.String("reason", "", "why, shown on the step (`text`)")
	values := paramFlag{}
	fs.Var(values, "v", "value as `NAME=VALUE` the step passes on as an output; repeat for several (approval only)")
	server := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("give a run id and the name of the step that waits for approval")
	}
	if *reject && len(values) > 0 {
		return usagef("-v passes values with an approval only; leave it out with --reject")
	}
	req := &api.ApprovalRequest{Approve: !*reject, Reason: *reason, Values: values}
	if _, err := server.client().Decide(ctx, pos[0], pos[1], req); err != nil {
		return err
	}
	verb := "approved"
	if *reject {
		verb = "rejected"
	}
	fmt.Fprintf(env.Stdout, "step %s of run %s %s\n", pos[1], pos[0], verb)
	return nil
}

// printApproval prints a step's approval under it, as runs get shows it.
func printApproval(w io.Writer, a *api.Approval) {
	if a == nil {
		return
	}
	var line string
	switch {
	case !a.Decided:
		line = "    waiting for approval since " + a.Since.Local().Format(time.DateTime)
		if a.Deadline != nil {
			line += ", until " + a.Deadline.Local().Format(time.DateTime)
		}
	case a.Approved:
		line = "    approved by " + a.DecidedBy
	default:
		line = "    rejected by " + a.DecidedBy
	}
	if a.Decided && a.DecidedAt != nil {
		line += " at " + a.DecidedAt.Local().Format(time.DateTime)
	}
	if a.Reason != "" {
		line += ": " + a.Reason
	}
	if a.Message != "" {
		line += fmt.Sprintf(" (%q)", a.Message)
	}
	fmt.Fprintln(w, api.EscapeControl(line))
}

// noApprovals refuses, for baton exec, a pipeline with a step that waits
// for a decision: exec serves no API that could take one, so the run would
// wait until its timeout, or for ever.
func noApprovals(spec *pipeline.Spec) error {
	for _, st := range spec.Steps {
		if st.Approval != nil {
			return fmt.Errorf("pipeline %q: step %q waits for approval, which nobody can give to baton exec; apply the pipeline to a server (baton apply) and run it there, where 'baton runs approve' decides", spec.Name, st.Name)
		}
	}
	return nil
}
