package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/baton-dev/baton/internal/api"
)

func pipelinesList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "pipelines list", "pipelines list [--output text|json]")
	output := outputFlag(fs)
	r := remoteFlags(fs, env)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	ps, err := r.client().Pipelines(ctx)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(env, ps)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PIPELINE\tREVISION\tCREATED\tSCHEDULES")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", p.Name, p.Revision, p.CreatedAt.Local().Format(time.DateTime), schedulesText(&p))
	}
	return tw.Flush()
}

// schedulesText says what a pipeline's schedules are and whether they fire.
func schedulesText(p *api.Pipeline) string {
	if len(p.Schedules) == 0 {
		return "-"
	}
	s := strings.Join(p.Schedules, ", ")
	if p.SchedulesPausedAt != nil {
		s += " (paused since " + p.SchedulesPausedAt.Local().Format(time.DateTime) + ")"
	}
	return s
}

func pipelinesGet(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "pipelines get", "pipelines get NAME [--revision N] [--spec] [--output text|json]")
	revision := fs.Int("revision", 0, "show this `revision` (default: the latest)")
	specOnly := fs.Bool("spec", false, "print the definition alone, as it was applied")
	output := outputFlag(fs)
	r := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give exactly one pipeline name")
	}
	if *revision < 0 {
		return usagef("--revision %d must be 1 or more", *revision)
	}
	p, err := r.client().Pipeline(ctx, pos[0], *revision)
	if err != nil {
		return err
	}
	switch {
	case *specOnly:
		fmt.Fprint(env.Stdout, p.Spec)
		if p.Spec != "" && !strings.HasSuffix(p.Spec, "\n") {
			fmt.Fprintln(env.Stdout)
		}
		return nil
	case *output == "json":
		return writeJSON(env, p)
	}
	w := env.Stdout
	fmt.Fprintf(w, "pipeline:  %s\nrevision:  %d\ncreated:   %s\nschedules: %s\n", p.Name, p.Revision, p.CreatedAt.Local().Format(time.DateTime), schedulesText(p))
	fmt.Fprintln(w, "spec:")
	for _, line := range strings.SplitAfter(strings.TrimSuffix(p.Spec, "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", api.EscapeControl(strings.TrimSuffix(line, "\n")))
	}
	return nil
}

func pipelinesRm(ctx context.Context, env *Env, args []string) error {
	return onOne(env, args, "pipelines rm", "pipeline name", func(c *api.Client, name string) (string, error) {
		return "pipeline " + name + " removed; its ended runs stay", c.DeletePipeline(ctx, name)
	})
}

func pipelinesPause(ctx context.Context, env *Env, args []string) error {
	return onOne(env, args, "pipelines pause", "pipeline name", func(c *api.Client, name string) (string, error) {
		_, err := c.PauseSchedules(ctx, name)
		return "schedules of " + name + " paused; they fire again after 'baton pipelines resume " + name + "'", err
	})
}

func pipelinesResume(ctx context.Context, env *Env, args []string) error {
	return onOne(env, args, "pipelines resume", "pipeline name", func(c *api.Client, name string) (string, error) {
		_, err := c.ResumeSchedules(ctx, name)
		return "schedules of " + name + " resumed, from their next tick", err
	})
}
