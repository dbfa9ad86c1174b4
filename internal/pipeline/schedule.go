package pipeline

import (
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

func (p *parser) schedules(n *yaml.Node, s *Spec) []Schedule {
	const example = `[{cron: "0 2 * * *"}]`
	if n = p.resolve(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "schedules", "is %s; write a list, e.g. %s", kind(n), example)
		return nil
	}
	out := make([]Schedule, 0, len(n.Content))
	for i, item := range n.Content {
		field := fmt.Sprintf("schedules[%d]", i)
		f, ok := p.fields(item, field, []string{"cron", "params"})
		if !ok {
			continue
		}
		var sched Schedule
		if c, ok := f["cron"]; !ok {
			p.errorf(item, field, `missing cron; add e.g. cron: "0 2 * * *"`)
		} else if spec, ok := p.str(c, field+".cron"); ok {
			if err := checkCron(spec); err != nil {
				p.errorf(c, field+".cron", "%.64q is not a cron schedule: %v; write five fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\", or @daily, @hourly, @every 10m", spec, err)
			}
			sched.Cron = spec
		}
		if pn, ok := f["params"]; ok {
			sched.Params = p.scheduleParams(pn, field+".params")
		}
		if _, err := s.ResolveParams(sched.Params); err != nil {
			at := item
			if pn, ok := f["params"]; ok {
				at = pn
			}
			p.errorf(p.resolve(at), field+".params", "%v", err)
		}
		out = append(out, sched)
	}
	return out
}

func (p *parser) scheduleParams(n *yaml.Node, field string) map[string]string {
	entries, _ := p.pairs(n, field, "e.g. params: {target: all}")
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if v, ok := p.str(e.value, field+"."+e.key); ok {
			out[e.key] = v
		}
	}
	return out
}

// checkCron validates a schedule with the standard parser. The parser
// panics on a TZ= prefix without a schedule after it, so that case is
// caught first, and any other panic becomes an error.
func checkCron(spec string) (err error) {
	if (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && !strings.Contains(spec, " ") {
		return fmt.Errorf("a time zone needs a schedule after it")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable")
		}
	}()
	_, err = cron.ParseStandard(spec)
	return err
}
