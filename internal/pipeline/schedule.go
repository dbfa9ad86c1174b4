package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/baton-dev/baton/internal/suggest"
)

// MaxCatchup is the most missed ticks of one schedule that baton runs when a
// schedule has catchup: all.
const MaxCatchup = 100

var (
	scheduleFields  = []string{"cron", "params", "overlap", "catchup"}
	overlapPolicies = []string{"skip", "queue", "allow"}
	catchupPolicies = []string{"none", "last", "all"}
)

// Schedule is a cron trigger.
type Schedule struct {
	Cron   string
	Params map[string]string
	// Overlap says what a tick does while a run this schedule started is
	// still running: skip (the default after Parse) drops the tick, queue
	// starts a run once that one ends, allow starts a run anyway.
	Overlap string
	// Catchup says what to do with ticks missed while baton was down: none
	// (the default after Parse), last runs once for the latest missed tick,
	// all runs every missed tick, at most [MaxCatchup].
	Catchup string
	// Key names the schedule within its pipeline, stably across revisions
	// that keep its cron: it is Cron, followed by "#2", "#3" ... for the
	// second and later schedules with the same Cron.
	Key string

	sched cron.Schedule // parsed Cron, set by Parse
}

// Next returns the first tick of the schedule after after. Without a
// CRON_TZ= prefix the cron fields are read in after's time zone. It returns
// the zero time when there is no tick in the five years after after, as for
// "0 0 30 2 *", or when Cron is not a valid schedule.
func (s Schedule) Next(after time.Time) time.Time {
	sched := s.sched
	if sched == nil {
		// A Schedule not made by Parse.
		var err error
		if sched, err = parseCron(s.Cron); err != nil {
			return time.Time{}
		}
	}
	return sched.Next(after)
}

func (p *parser) schedules(n *yaml.Node, s *Spec) []Schedule {
	const example = `[{cron: "0 2 * * *"}]`
	if n = p.resolve(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "schedules", "is %s; write a list, e.g. %s", DescribeNode(n), example)
		return nil
	}
	out := make([]Schedule, 0, len(n.Content))
	keys := make(map[string]bool, len(n.Content))
	for i, item := range n.Content {
		field := fmt.Sprintf("schedules[%d]", i)
		f, ok := p.fields(item, field, scheduleFields)
		if !ok {
			continue
		}
		sched := Schedule{Overlap: "skip", Catchup: "none"}
		if c, ok := f["cron"]; !ok {
			p.errorf(item, field, `missing cron; add e.g. cron: "0 2 * * *"`)
		} else if spec, ok := p.str(c, field+".cron"); ok {
			parsed, err := parseCron(spec)
			if err != nil {
				p.errorf(c, field+".cron", "%.64q is not a cron schedule: %v; write five fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\", or @daily, @hourly, @every 10m", spec, err)
			}
			sched.Cron, sched.sched = spec, parsed
			sched.Key = spec
			for k := 2; keys[sched.Key]; k++ {
				sched.Key = spec + "#" + strconv.Itoa(k)
			}
			keys[sched.Key] = true
		}
		if v, ok := f["overlap"]; ok {
			sched.Overlap = p.policy(v, field+".overlap", "an overlap policy", overlapPolicies)
		}
		if v, ok := f["catchup"]; ok {
			sched.Catchup = p.policy(v, field+".catchup", "a catchup policy", catchupPolicies)
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

// policy reads one of a fixed set of words. On an error it returns the
// word as written, like the other readers, so later checks see it.
func (p *parser) policy(n *yaml.Node, field, what string, allowed []string) string {
	word, ok := p.str(n, field)
	if !ok || slices.Contains(allowed, word) {
		return word
	}
	last := len(allowed) - 1
	choices := strings.Join(allowed[:last], ", ") + " or " + allowed[last]
	if s := suggest.Closest(word, allowed); s != "" {
		p.errorf(n, field, "%.64q is not %s; did you mean %q? Write %s", word, what, s, choices)
	} else {
		p.errorf(n, field, "%.64q is not %s; write %s", word, what, choices)
	}
	return word
}

// parseCron parses a schedule with the standard parser, descriptors such as
// @daily included. The parser panics on a TZ= prefix without a schedule
// after it, so that case is caught first, and any other panic becomes an
// error.
func parseCron(spec string) (sched cron.Schedule, err error) {
	if (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && !strings.Contains(spec, " ") {
		return nil, fmt.Errorf("a time zone needs a schedule after it")
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("unreadable")
		}
	}()
	return cron.ParseStandard(spec)
}
