package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
)

func runsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "runs list", "runs list [--pipeline NAME] [--status S] [--param NAME=VALUE]... [--since T] [--until T] [--before RUN] [--limit N] [--output text|json]")
	pipeline := fs.String("pipeline", "", "only runs of this `pipeline`")
	status := fs.String("status", "", "only runs in these `statuses`, comma-separated (queued,running,succeeded,failed,canceled)")
	limit := fs.Int("limit", 20, "at most `n` runs")
	before := fs.String("before", "", "the next page: only runs listed after this `run`, the last of the page before")
	since := fs.String("since", "", "only runs created at or after this `time` (RFC 3339, e.g. 2026-12-01T00:00:00Z)")
	until := fs.String("until", "", "only runs created before this `time` (RFC 3339)")
	params := paramFlag{}
	fs.Var(params, "param", "only runs with this param, as `NAME=VALUE` (exactly that value); repeat for several, all of which must hold")
	output := outputFlag(fs)
	server := remoteFlags(fs, env)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	if *pipeline != "" {
		q.Set("pipeline", *pipeline)
	}
	if *status != "" {
		q.Set("status", *status)
	}
	q.Set("limit", strconv.Itoa(*limit))
	for _, name := range slices.Sorted(maps.Keys(params)) {
		q.Add("param", name+"="+params[name])
	}
	for k, v := range map[string]string{"before": *before, "since": *since, "until": *until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	runs, err := server.client().Runs(ctx, q)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(env, runs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tPIPELINE\tSTATUS\tCREATED\tERROR")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Pipeline, r.Status, r.CreatedAt.Local().Format(time.DateTime), api.EscapeControl(r.Error))
	}
	return tw.Flush()
}

func runsGet(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "runs get", "runs get RUN [--output text|json]")
	output := outputFlag(fs)
	server := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give exactly one run id")
	}
	r, err := server.client().Run(ctx, pos[0])
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(env, r)
	}
	w := env.Stdout
	fmt.Fprintf(w, "run:      %s\npipeline: %s (revision %d)\nstatus:   %s\n", r.ID, r.Pipeline, r.Revision, r.Status)
	if r.Executor != "" {
		fmt.Fprintf(w, "executor: %s\n", r.Executor)
	}
	if r.Parent != nil {
		fmt.Fprintf(w, "started by: run %s, step %s, attempt %d\n", r.Parent.RunID, r.Parent.Step, r.Parent.Attempt)
	}
	if r.RetryOf != "" {
		fmt.Fprintf(w, "re-runs:  %s\n", r.RetryOf)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "reason:   %s\n", api.EscapeControl(r.Error))
	}
	fmt.Fprintln(w, "steps:")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %s: %s\n", s.Name, s.Status)
		printApproval(w, s.Approval)
		for _, a := range s.Attempts {
			line := fmt.Sprintf("    attempt %d: %s", a.Attempt, a.Status)
			if a.Executor != "" {
				line += " on " + a.Executor
			}
			if a.Handle != "" {
				line += " (" + a.Handle + ")"
			}
			if a.ChildRun != "" {
				line += ", child run " + a.ChildRun
			}
			if a.ExitCode != nil {
				line += fmt.Sprintf(", exit %d", *a.ExitCode)
			}
			if a.StartedAt != nil && a.FinishedAt != nil {
				line += ", " + a.FinishedAt.Sub(*a.StartedAt).Round(time.Millisecond).String()
			}
			switch {
			case a.Removed && a.CleanupTries > 1:
				line += fmt.Sprintf(", removed after %d tries", a.CleanupTries)
			case a.Removed:
				line += ", removed"
			case a.CleanupError != "":
				line += fmt.Sprintf(", NOT removed after %d tries: %s", a.CleanupTries, a.CleanupError)
			case a.Status != store.StepRunning:
				line += ", removal pending"
			}
			if a.Error != "" {
				line += "; " + a.Error
			}
			fmt.Fprintln(w, api.EscapeControl(line))
		}
	}
	if len(r.Variables) > 0 {
		fmt.Fprintln(w, "variables:")
		for _, k := range slices.Sorted(maps.Keys(r.Variables)) {
			fmt.Fprintf(w, "  %s=%s\n", k, api.EscapeControl(r.Variables[k]))
		}
	}
	printNotifications(w, r.Notifications)
	return nil
}

func runsCancel(ctx context.Context, env *Env, args []string) error {
	return onOne(env, args, "runs cancel", "run id", func(c *api.Client, id string) (string, error) {
		return "run " + id + " canceling", c.Cancel(ctx, id)
	})
}

func runsRetry(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "runs retry", "runs retry RUN [--from STEP] [-p NAME=VALUE]...")
	from := fs.String("from", "", "run this `step` and every step after it again; default: the steps that did not succeed")
	params := paramFlag{}
	fs.Var(params, "p", "param as `NAME=VALUE`, replacing the earlier run's; repeat for several")
	server := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give exactly one run id")
	}
	r, err := server.client().Retry(ctx, pos[0], *from, params)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, r.ID)
	return nil
}

func writeJSON(env *Env, v any) error {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
