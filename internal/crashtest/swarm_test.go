package crashtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/swarm/swarmtest"
	"github.com/baton-dev/baton/internal/store"
)

// swarmExecutors are the executors of [swarmConfig] that pin a step to one
// node: swarmExecutors[i] runs only on the swarm's node i.
var swarmExecutors = []string{"node1", "node2", "node3"}

// swarmConfig is a server config file with a swarm executor over every
// node as the default, and one more per node, constrained to it.
func swarmConfig(sw *swarmtest.Swarm, addr string) string {
	nodes := "[" + strings.Join(sw.Hosts, ", ") + "]"
	var b strings.Builder
	fmt.Fprintf(&b, "callback_url: http://%s\ndefault_executor: swarm\nexecutors:\n", addr)
	fmt.Fprintf(&b, "  swarm: {type: swarm, host: %q, nodes: %s, schedule_timeout: 1m}\n", sw.Hosts[0], nodes)
	for i, name := range swarmExecutors {
		fmt.Fprintf(&b, "  %s: {type: swarm, host: %q, nodes: %s, constraints: [\"node.id==%s\"], schedule_timeout: 1m}\n",
			name, sw.Hosts[0], nodes, sw.NodeIDs[i])
	}
	return b.String()
}

// swarmPipeline is three steps, each on its own node. One posts a through
// the callback and writes b to its output file; two checks it sees both,
// does what middle says, then posts c and writes d the same two ways;
// three checks all four and writes e from them. Callbacks are retried, as
// a careful step would: the server may be down when one is made.
func swarmPipeline(name, image, middle, middleTimeout string) string {
	const post = `post() {
          n=0
          until wget -q -O- --header "Authorization: Bearer $(cat "$BATON_TOKEN_FILE")" --header 'Content-Type: application/json' --post-data "$1" "$BATON_CALLBACK_URL"; do
            n=$((n+1))
            if [ "$n" -ge 60 ]; then echo "callback unreachable" >&2; exit 1; fi
            sleep 1
          done
        }
        `
	step := func(name, exec, timeout, script string) string {
		return `
  - name: ` + name + `
    image: ` + image + `
    pull: never
    executor: ` + exec + `
    timeout: ` + timeout + `
    command:
      - sh
      - -c
      - |
        ` + post + script
	}
	return `name: ` + name + "\nsteps:" + step("one", swarmExecutors[0], "2m", `post '{"variables": {"a": "1"}}'
        echo "b=2" >> "$BATON_OUTPUT"
        echo "one: done"
`) + step("two", swarmExecutors[1], middleTimeout, `[ "$BATON_VAR_a" = 1 ] && [ "$BATON_VAR_b" = 2 ] || { echo "two: a=$BATON_VAR_a b=$BATON_VAR_b" >&2; exit 10; }
        echo "two: started"
        `+middle+`
        post "{\"variables\": {\"c\": \"$BATON_VAR_a-$BATON_VAR_b\"}}"
        echo "d=$BATON_VAR_b-$BATON_VAR_a" >> "$BATON_OUTPUT"
        echo "two: done"
`) + step("three", swarmExecutors[2], "2m", `[ "$BATON_VAR_c" = 1-2 ] && [ "$BATON_VAR_d" = 2-1 ] || { echo "three: c=$BATON_VAR_c d=$BATON_VAR_d" >&2; exit 10; }
        echo "e=$BATON_VAR_a-$BATON_VAR_b-$BATON_VAR_c-$BATON_VAR_d" >> "$BATON_OUTPUT"
        echo "three: saw a b c d"
`)
}

// swarmLines is the line each step of [swarmPipeline] prints when it
// succeeds.
var swarmLines = map[string]string{"one": "one: done", "two": "two: done", "three": "three: saw a b c d"}

// swarmExpect is how a run of [swarmPipeline] that succeeds ends.
var swarmExpect = expect{
	steps:   []string{"one", "two", "three"},
	vars:    map[string]string{"a": "1", "b": "2", "c": "1-2", "d": "2-1", "e": "1-2-1-2-2-1"},
	removed: true,
}

// TestSwarmPipeline runs a 3-step pipeline on a real multi-node swarm, each
// step pinned to another node, passing variables through both the output
// file and the callback: once to success, once failing, once timing out,
// once canceled and once with the server killed by SIGKILL while the
// second step runs and restarted on the same data. After each, nothing
// labelled as the run's is left: no service or secret in the swarm, no
// container or volume on any node.
func TestSwarmPipeline(t *testing.T) {
	sw := swarmtest.New(t)
	if len(sw.Nodes) < len(swarmExecutors) {
		t.Fatalf("the swarm has %d nodes, the test needs %d", len(sw.Nodes), len(swarmExecutors))
	}
	image := sw.Busybox(t)
	var (
		mu  sync.Mutex
		ids []string
	)
	removeSwarmLeftovers(t, sw, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(ids) })

	s := newServer(t, swarmtest.HostGateway, "")
	cfg := filepath.Join(t.TempDir(), "baton.yaml")
	if err := os.WriteFile(cfg, []byte(swarmConfig(sw, s.addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	restart := func() { s.startConfig(cfg); s.waitReady() }
	restart()
	s.apply(swarmPipeline("swarm-ok", image, "", "2m"))
	s.apply(swarmPipeline("swarm-fail", image, "exit 3", "2m"))
	s.apply(swarmPipeline("swarm-timeout", image, "sleep 60", "3s"))
	s.apply(swarmPipeline("swarm-cancel", image, "sleep 60", "2m"))
	s.apply(swarmPipeline("swarm-kill", image, "sleep 8", "2m"))

	trigger := func(t *testing.T, pipeline string) (string, *placements) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		r, err := s.client.Trigger(ctx, pipeline, nil)
		if err != nil {
			t.Fatalf("trigger %s: %v", pipeline, err)
		}
		mu.Lock()
		ids = append(ids, r.ID)
		mu.Unlock()
		return r.ID, watchPlacements(t, sw, r.ID)
	}
	finish := func(t *testing.T, id string, p *placements) *api.Run {
		t.Helper()
		s.waitAllTerminal(3 * time.Minute)
		p.stop()
		r := s.run(id)
		t.Logf("attempts: %s", attemptSummary(r))
		return r
	}

	t.Run("success", func(t *testing.T) {
		id, p := trigger(t, "swarm-ok")
		r := finish(t, id, p)
		problems := runProblems(r, swarmExpect)
		problems = append(problems, s.logProblems(r, swarmLines)...)
		problems = append(problems, p.problems(sw, r)...)
		problems = append(problems, swarmLeftovers(t, sw, id)...)
		reportRun(t, r, problems)
	})

	t.Run("failure", func(t *testing.T) {
		id, p := trigger(t, "swarm-fail")
		r := finish(t, id, p)
		problems := endedProblems(r, store.RunFailed, store.StepFailed, "")
		if a := lastAttempt(r, "two"); a == nil || a.ExitCode == nil || *a.ExitCode != 3 {
			problems = append(problems, fmt.Sprintf("two's attempt is %+v, want exit code 3", a))
		}
		problems = append(problems, swarmLeftovers(t, sw, id)...)
		reportRun(t, r, problems)
	})

	t.Run("timeout", func(t *testing.T) {
		id, p := trigger(t, "swarm-timeout")
		r := finish(t, id, p)
		problems := endedProblems(r, store.RunFailed, store.StepFailed, "timed out")
		problems = append(problems, swarmLeftovers(t, sw, id)...)
		reportRun(t, r, problems)
	})

	t.Run("cancel", func(t *testing.T) {
		id, p := trigger(t, "swarm-cancel")
		s.waitLine(id, "two", "two: started")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.client.Cancel(ctx, id); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		r := finish(t, id, p)
		problems := endedProblems(r, store.RunCanceled, store.StepCanceled, "")
		problems = append(problems, swarmLeftovers(t, sw, id)...)
		reportRun(t, r, problems)
	})

	t.Run("kill", func(t *testing.T) {
		id, p := trigger(t, "swarm-kill")
		s.waitLine(id, "two", "two: started")
		s.kill()
		restart()
		r := finish(t, id, p)
		problems := runProblems(r, swarmExpect)
		problems = append(problems, s.logProblems(r, swarmLines)...)
		problems = append(problems, p.problems(sw, r)...)
		problems = append(problems, swarmLeftovers(t, sw, id)...)
		reportRun(t, r, problems)
	})

	// Nothing of any run is left at the end either, once the server is
	// gone: no late cleanup of one case undid another's check.
	s.stop()
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if left := swarmLeftovers(t, sw, id); len(left) > 0 {
			t.Errorf("run %s at the end: %s", id, strings.Join(left, "; "))
		}
	}
}

// startConfig starts a new life of the server with the config file cfg,
// which names its executors.
func (s *server) startConfig(cfg string) {
	s.t.Helper()
	if s.proc != nil && !s.proc.exited() {
		s.t.Fatalf("start: the previous server (pid %d) is still running", s.proc.cmd.Process.Pid)
	}
	s.starts++
	logPath := filepath.Join(s.dataDir, fmt.Sprintf("server-%02d.stderr", s.starts))
	logFile, err := os.Create(logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	s.logs = append(s.logs, logPath)

	cmd := exec.Command(s.bin, "server", "--config", cfg, "--listen", s.addr, "--data-dir", s.dataDir)
	cmd.Env = serverEnv("")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start baton server: %v", err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	s.proc = p
}

// waitLine waits until step of run id has printed line, so that the step
// is known to run in its task.
func (s *server) waitLine(id, step, line string) {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lines, err := s.logLines(id, step)
		if err == nil && slices.ContainsFunc(lines, func(l api.LogLine) bool { return l.Text == line }) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("step %s of run %s did not print %q in 2m (%v); run:\n%s", step, id, line, err, runJSON(s.run(id)))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// endedProblems checks a run of [swarmPipeline] that ended without
// success because of step two: one ran and succeeded, two ended as stepWant
// (its error containing errWant), three never ran, and every attempt was
// removed.
func endedProblems(r *api.Run, runWant store.RunStatus, stepWant store.StepStatus, errWant string) []string {
	var p []string
	if r.Status != runWant {
		p = append(p, fmt.Sprintf("run is %s (%q), want %s", r.Status, r.Error, runWant))
	}
	if len(r.Steps) != 3 {
		return append(p, fmt.Sprintf("run has %d steps, want 3", len(r.Steps)))
	}
	p = append(p, stepProblems(r.Steps[0], true)...)
	two := r.Steps[1]
	if two.Status != stepWant {
		p = append(p, fmt.Sprintf("step two is %s (%q), want %s", two.Status, two.Error, stepWant))
	}
	if len(two.Attempts) != 1 {
		p = append(p, fmt.Sprintf("step two made %d attempts, want 1", len(two.Attempts)))
	}
	if errWant != "" && !strings.Contains(two.Error, errWant) {
		p = append(p, fmt.Sprintf("step two's error is %q, want it to say %q", two.Error, errWant))
	}
	if n := len(r.Steps[2].Attempts); n != 0 {
		p = append(p, fmt.Sprintf("step three made %d attempts, want none", n))
	}
	for _, st := range r.Steps {
		for _, a := range st.Attempts {
			if !a.Removed {
				p = append(p, fmt.Sprintf("step %s: attempt %d (%s) not removed (cleanup_error %q)", st.Name, a.Attempt, a.Status, a.CleanupError))
			}
		}
	}
	return p
}

// lastAttempt is the last attempt of the step named step, or nil.
func lastAttempt(r *api.Run, step string) *api.Attempt {
	for _, st := range r.Steps {
		if st.Name == step && len(st.Attempts) > 0 {
			return &st.Attempts[len(st.Attempts)-1]
		}
	}
	return nil
}

// placements records on which node each step's tasks ran, as the swarm's
// manager reports them while the run goes on.
type placements struct {
	mu     sync.Mutex
	nodes  map[string][]string // step: the nodes of its tasks
	cancel context.CancelFunc
	done   chan struct{}
}

// watchPlacements polls the manager for the tasks of run id's services
// until stop.
func watchPlacements(t *testing.T, sw *swarmtest.Swarm, id string) *placements {
	ctx, cancel := context.WithCancel(context.Background())
	p := &placements{nodes: map[string][]string{}, cancel: cancel, done: make(chan struct{})}
	t.Cleanup(p.stop)
	go func() {
		defer close(p.done)
		f := filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+id))
		for ctx.Err() == nil {
			services, _ := sw.Manager.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
			for _, svc := range services {
				tasks, err := sw.Manager.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
				if err != nil {
					continue
				}
				step := svc.Spec.Labels[executor.LabelStep]
				p.mu.Lock()
				for _, tk := range tasks {
					if tk.NodeID != "" && !slices.Contains(p.nodes[step], tk.NodeID) {
						p.nodes[step] = append(p.nodes[step], tk.NodeID)
					}
				}
				p.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *placements) stop() {
	p.cancel()
	<-p.done
}

// problems checks that step i of r ran on node i, through the executor
// pinned there, and only there.
func (p *placements) problems(sw *swarmtest.Swarm, r *api.Run) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for i, st := range r.Steps {
		if i >= len(swarmExecutors) {
			break
		}
		want := sw.NodeIDs[i]
		if got := p.nodes[st.Name]; !slices.Equal(got, []string{want}) {
			out = append(out, fmt.Sprintf("step %s ran on nodes %q, want only %s (%s)", st.Name, got, want, sw.Hosts[i]))
		}
		for _, a := range st.Attempts {
			if a.Executor != swarmExecutors[i] {
				out = append(out, fmt.Sprintf("step %s: attempt %d ran on executor %q, want %q", st.Name, a.Attempt, a.Executor, swarmExecutors[i]))
			}
		}
	}
	return out
}

// swarmLeftovers lists what is labelled as run id's in the swarm (services,
// secrets) or on any node (containers, volumes), waiting up to a minute for
// it to go: a node's engine removes a removed service's task in its own
// time.
func swarmLeftovers(t *testing.T, sw *swarmtest.Swarm, id string) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		left := swarmObjects(t, sw, id)
		if len(left) == 0 || time.Now().After(deadline) {
			if len(left) > 0 {
				return []string{"left after a minute: " + strings.Join(left, "; ")}
			}
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// swarmObjects lists, once, what is labelled as run id's in the swarm or
// on its nodes.
func swarmObjects(t *testing.T, sw *swarmtest.Swarm, id string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := filters.NewArgs(
		filters.Arg("label", executor.LabelManaged+"=true"),
		filters.Arg("label", executor.LabelRun+"="+id),
	)
	var left []string
	services, err := sw.Manager.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil {
		t.Fatalf("list services of run %s: %v", id, err)
	}
	for _, s := range services {
		left = append(left, "service "+s.Spec.Name)
	}
	secrets, err := sw.Manager.SecretList(ctx, swarm.SecretListOptions{Filters: f})
	if err != nil {
		t.Fatalf("list secrets of run %s: %v", id, err)
	}
	for _, s := range secrets {
		left = append(left, "secret "+s.Spec.Name)
	}
	for i, cli := range sw.Nodes {
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			t.Fatalf("list containers of run %s on %s: %v", id, sw.Hosts[i], err)
		}
		for _, c := range cs {
			left = append(left, fmt.Sprintf("container %s (%s) on %s", strings.Join(c.Names, ","), c.State, sw.Hosts[i]))
		}
		vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		if err != nil {
			t.Fatalf("list volumes of run %s on %s: %v", id, sw.Hosts[i], err)
		}
		for _, v := range vols.Volumes {
			left = append(left, fmt.Sprintf("volume %s on %s", v.Name, sw.Hosts[i]))
		}
	}
	return left
}

// removeSwarmLeftovers removes, when the test ends, whatever is labelled as
// one of the runs ids returns, so that a failed test leaves nothing in the
// swarm.
func removeSwarmLeftovers(t *testing.T, sw *swarmtest.Swarm, ids func() []string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, id := range ids() {
			f := filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+id))
			if services, err := sw.Manager.ServiceList(ctx, swarm.ServiceListOptions{Filters: f}); err == nil {
				for _, s := range services {
					_ = sw.Manager.ServiceRemove(ctx, s.ID)
				}
			}
			for _, cli := range sw.Nodes {
				if cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f}); err == nil {
					for _, c := range cs {
						_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
					}
				}
				if vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f}); err == nil {
					for _, v := range vols.Volumes {
						_ = cli.VolumeRemove(ctx, v.Name, true)
					}
				}
			}
			if secrets, err := sw.Manager.SecretList(ctx, swarm.SecretListOptions{Filters: f}); err == nil {
				for _, s := range secrets {
					_ = sw.Manager.SecretRemove(ctx, s.ID)
				}
			}
		}
	})
}
