package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/suggest"
	"gopkg.in/yaml.v3"
)

var (
	stepFields   = []string{"name", "image", "command", "env", "timeout", "retry", "pull", "needs", "secrets", "resources", "user", "read_only", "cap_add", "executor", "if", "approval", "pipeline", "params", "outputs", "for_each", "max_parallel", "fail_fast"}
	pullPolicies = []string{"always", "if-missing", "never"}
)

// stepNodes remembers where a step came from, for errors found only once
// every step is read.
type stepNodes struct {
	step  *yaml.Node
	needs *yaml.Node // nil when the step has no needs:
	cond  *yaml.Node // nil when the step has no if:
	items *yaml.Node // nil when the step has no for_each:
}

// steps reads a list of steps: the pipeline's steps:, or its finally:
// (list names which, for messages).
func (p *parser) steps(n *yaml.Node, envPrefix, which string) ([]Step, []stepNodes) {
	const example = "[{name: hello, image: alpine, command: [echo, hi]}]"
	if n = p.resolve(n); n == nil {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, which, "is %s; write a list of steps, e.g. %s", DescribeNode(n), example)
		return nil, nil
	}
	if len(n.Content) == 0 {
		if which == "finally" {
			p.errorf(n, which, "is empty; list the steps to run once the others have ended, e.g. %s, or leave finally out", example)
		} else {
			p.errorf(n, which, "is empty; a pipeline needs at least one step, e.g. %s", example)
		}
		return nil, nil
	}
	before := len(p.errs)
	steps := make([]Step, 0, len(n.Content))
	nodes := make([]stepNodes, 0, len(n.Content))
	seen := make(map[string]int)
	for i, item := range n.Content {
		field := fmt.Sprintf("%s[%d]", which, i)
		st, sn := p.step(item, field, envPrefix)
		if first, dup := seen[st.Name]; dup && st.Name != "" {
			p.errorf(sn.step, field+".name", "%q is also the name of %s[%d]; step names must be unique", st.Name, which, first)
		}
		seen[st.Name] = i
		st.Finally = which == "finally"
		steps = append(steps, st)
		nodes = append(nodes, sn)
	}
	if len(p.errs) > before {
		// The graph checks below would mostly repeat these errors.
		return steps, nodes
	}
	p.checkNeeds(steps, nodes, which)
	return steps, nodes
}

func (p *parser) step(n *yaml.Node, field, envPrefix string) (Step, stepNodes) {
	st := Step{Pull: "if-missing"}
	sn := stepNodes{step: p.resolve(n)}
	f, ok := p.fields(n, field, stepFields)
	if !ok {
		return st, sn
	}
	if v, ok := f["name"]; !ok {
		p.errorf(sn.step, field, "missing name; add e.g. name: build")
	} else if name, ok := p.str(v, field+".name"); ok {
		if problem := identProblem(name); problem != "" {
			p.errorf(v, field+".name", "%.64q %s", name, problem)
		}
		st.Name = name
		sn.step = p.resolve(v)
	}
	if v, ok := f["image"]; ok {
		st.Image, _ = p.str(v, field+".image")
		if strings.ContainsRune(st.Image, 0) {
			p.errorf(v, field+".image", "contains a NUL byte; write an image reference")
		}
	}
	if v, ok := f["command"]; !ok {
		if _, approval := f["approval"]; !approval && f["pipeline"] == nil {
			p.errorf(sn.step, field, `missing command; add e.g. command: ["sh", "-c", "./run.sh"]`)
		}
	} else if cmd, ok := p.strings(v, field+".command", `["sh", "-c", "./run.sh"]`); ok {
		switch {
		case len(cmd) == 0:
			p.errorf(v, field+".command", `is empty; write the program and its arguments, e.g. ["sh", "-c", "./run.sh"]`)
		case cmd[0] == "":
			p.errorf(v, field+".command[0]", "is empty; write the program to run")
		}
		// No program can be given a NUL byte in an argument: the step
		// would fail at every start. (In YAML's double quotes, "\0" and
		// "\033" are NULs: write "\\033" or single quotes.)
		for i, arg := range cmd {
			if strings.ContainsRune(arg, 0) {
				p.errorf(v, fmt.Sprintf("%s.command[%d]", field, i), `contains a NUL byte, which no program can be passed; in double quotes, "\0" and "\033" are NULs: write "\\033" or use single quotes`)
				break
			}
		}
		st.Command = cmd
	}
	if v, ok := f["env"]; ok {
		st.Env = p.env(v, field+".env", envPrefix)
	}
	if v, ok := f["timeout"]; ok {
		if d, ok := p.duration(v, field+".timeout"); ok {
			if d <= 0 {
				p.errorf(v, field+".timeout", "is %s; write a duration above zero, or leave timeout out for none", d)
			}
			st.Timeout = d
		}
	}
	if v, ok := f["retry"]; ok {
		st.Retry = p.retry(v, field+".retry")
	}
	if v, ok := f["pull"]; ok {
		if pull, ok := p.str(v, field+".pull"); ok {
			if !slices.Contains(pullPolicies, pull) {
				p.errorf(v, field+".pull", "%.64q is not a pull policy; write always, if-missing or never", pull)
			}
			st.Pull = pull
		}
	}
	if v, ok := f["needs"]; ok {
		st.Needs, _ = p.strings(v, field+".needs", "[build]")
		if st.Needs == nil {
			st.Needs = []string{} // needs: [] means no dependencies, unlike no needs: at all
		}
		sn.needs = p.resolve(v)
	}
	if v, ok := f["secrets"]; ok {
		st.Secrets = p.secrets(v, field+".secrets", envPrefix, st.Env)
	}
	if v, ok := f["resources"]; ok {
		st.Resources = p.resources(v, field+".resources")
	}
	if v, ok := f["user"]; ok {
		if user, ok := p.str(v, field+".user"); ok {
			if problem := userProblem(user); problem != "" {
				p.errorf(v, field+".user", "%s", problem)
			}
			st.User = user
		}
	}
	if v, ok := f["read_only"]; ok {
		st.ReadOnly, _ = p.boolean(v, field+".read_only")
	}
	if v, ok := f["cap_add"]; ok {
		st.CapAdd = p.capAdd(v, field+".cap_add")
	}
	if v, ok := f["executor"]; ok {
		st.Executor = p.executor(v, field+".executor")
	}
	if v, ok := f["if"]; ok {
		st.If = p.condition(v, field+".if")
		sn.cond = p.resolve(v)
	}
	if v, ok := f["approval"]; ok {
		st.Approval = p.approval(v, field, f)
	}
	if _, ok := f["for_each"]; ok {
		st.ForEach = p.fanOut(f, field)
		sn.items = p.resolve(f["for_each"])
	} else {
		for _, key := range []string{"max_parallel", "fail_fast"} {
			if v, ok := f[key]; ok {
				p.errorf(p.resolve(v), field+"."+key, "is for a step that fans out; add for_each, or remove %s", key)
			}
		}
	}
	if _, ok := f["pipeline"]; ok {
		st.Pipeline = p.subPipeline(f, field)
	} else {
		for _, key := range []string{"params", "outputs"} {
			if v, ok := f[key]; ok {
				p.errorf(p.resolve(v), field+"."+key, "is for a step that runs a pipeline; add pipeline: NAME, or remove %s", key)
			}
		}
	}
	return st, sn
}

func (p *parser) env(n *yaml.Node, field, envPrefix string) map[string]string {
	entries, _ := p.pairs(n, field, "e.g. env: {LOG_LEVEL: info}")
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		at, name := &yaml.Node{Line: e.line}, field+"."+e.key
		switch err := contract.ValidName(e.key); {
		case err != nil:
			p.errorf(at, name, "is not a valid environment variable name: %v", err)
			continue
		case IsReservedName(e.key) && !slices.Contains(reservedNames, e.key):
			// The plain names, PATH and the like, are the author's to set.
			if strings.HasPrefix(e.key, "LD_") {
				p.errorf(at, name, "%s; set it inside command instead, e.g. [sh, -c, 'LD_LIBRARY_PATH=/opt/lib exec ./run'], or in the image", reservedReason(e.key))
			} else {
				p.errorf(at, name, "%s; pick another name", reservedReason(e.key))
			}
			continue
		case strings.HasPrefix(e.key, envPrefix):
			p.errorf(at, name, "starts with %q, the env_prefix of run variables; define it under vars instead", envPrefix)
			continue
		}
		v, ok := p.str(e.value, name)
		if !ok {
			continue
		}
		if err := contract.ValidValue(v); err != nil {
			p.errorf(e.value, name, "%v", err)
		}
		out[e.key] = v
	}
	return out
}

// checkNeeds checks every needs: list, fills in the implicit dependency of
// steps without one, and rejects cycles.
func (p *parser) checkNeeds(steps []Step, nodes []stepNodes, which string) {
	names := make([]string, len(steps))
	for i := range steps {
		names[i] = steps[i].Name
	}
	ok := true
	for i := range steps {
		st := &steps[i]
		field := fmt.Sprintf("%s[%d].needs", which, i)
		if nodes[i].needs == nil {
			if i > 0 {
				st.Needs = []string{steps[i-1].Name}
			}
			continue
		}
		seen := make(map[string]bool, len(st.Needs))
		for _, need := range st.Needs {
			switch {
			case need == st.Name:
				p.errorf(nodes[i].needs, field, "%s needs itself; remove %q", st.Name, need)
			case !slices.Contains(names, need):
				hint := ""
				if s := suggest.Closest(need, names); s != "" {
					hint = fmt.Sprintf("did you mean %q? ", s)
				}
				if which == "finally" {
					p.errorf(nodes[i].needs, field, "no finally step is named %q; %sfinally steps: %s (a finally step waits for every step of steps: anyway)", need, hint, list(names))
				} else {
					p.errorf(nodes[i].needs, field, "no step is named %q; %ssteps: %s", need, hint, list(names))
				}
			case seen[need]:
				p.errorf(nodes[i].needs, field, "%q is listed twice; list it once", need)
			default:
				seen[need] = true
				continue
			}
			ok = false
		}
	}
	if !ok {
		return
	}
	cycle := newGraph(steps).cycle()
	if cycle == nil {
		return
	}
	var parts []string
	explicit := -1 // the first step on the cycle with needs:, where the error points
	for k := 0; k+1 < len(cycle); k++ {
		from, to := cycle[k], cycle[k+1]
		if nodes[from].needs == nil {
			parts = append(parts, fmt.Sprintf("%s waits for %s (it has no needs:, so it waits for the step listed before it)", names[from], names[to]))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s needs %s", names[from], names[to]))
		if explicit < 0 {
			explicit = from
		}
	}
	// Implicit dependencies all point backwards in listed order, so every
	// cycle has at least one step with needs:.
	p.errorf(nodes[explicit].needs, fmt.Sprintf("%s[%d].needs", which, explicit), "steps wait for each other in a cycle: %s; remove one of these dependencies", strings.Join(parts, ", "))
}
