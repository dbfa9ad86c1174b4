package swarm_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"

	"github.com/baton-dev/baton/internal/executor"
	batonswarm "github.com/baton-dev/baton/internal/executor/swarm"
	"github.com/baton-dev/baton/internal/executor/swarm/swarmtest"
)

// Three attempts, each held to another node by a placement constraint,
// run there and hand their outputs back: the file is read from each node's
// own engine.
func TestAttemptsOnEveryNode(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	if len(s.NodeIDs) < 3 {
		t.Skipf("the swarm has %d nodes, want 3", len(s.NodeIDs))
	}
	image := s.Busybox(t)
	rid := runID(t)
	var wg sync.WaitGroup
	for i, node := range s.NodeIDs[:3] {
		wg.Go(func() {
			e := newExecutor(t, s, func(o *batonswarm.Options) { o.Constraints = []string{"node.id==" + node} })
			sp := spec(t, rid, image, "sh", "-c", `echo "step=$STEP" >> "$BATON_OUTPUT"`)
			sp.Step = fmt.Sprintf("step%d", i)
			sp.Env = map[string]string{"STEP": sp.Step}
			h, r := run(t, e, sp)
			if got, want := string(r.Output), "step="+sp.Step+"\n"; r.ExitCode != 0 || got != want {
				t.Errorf("%s: exit %d, output %q; want 0, %q", sp.Step, r.ExitCode, got, want)
			}
			if got := task(t, s, h).NodeID; got != node {
				t.Errorf("%s ran on node %s, want %s", sp.Step, got, node)
			}
		})
	}
	wg.Wait()
}

// Without the nodes' engines, baton cannot read outputs there, so every
// task runs on the manager, whose engine it has.
func TestOnlyReachableNodes(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s, func(o *batonswarm.Options) { o.Nodes = nil })
	rid := runID(t)
	for i := range 3 {
		sp := spec(t, rid, image, "sh", "-c", `echo ok=1 > "$BATON_OUTPUT"`)
		sp.Attempt = i + 1
		h, r := run(t, e, sp)
		if string(r.Output) != "ok=1\n" {
			t.Errorf("attempt %d: output %q", i+1, r.Output)
		}
		if got := task(t, s, h).NodeID; got != s.NodeIDs[0] {
			t.Errorf("attempt %d ran on node %s, want the manager %s", i+1, got, s.NodeIDs[0])
		}
	}
}

// A task no node can take fails the start once the schedule timeout
// passes, and is scaled down so that it never runs later.
func TestNotScheduled(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s, func(o *batonswarm.Options) {
		o.Constraints = []string{"node.labels.dev.baton.test.no-such-label==1"}
		o.ScheduleTimeout = 2 * time.Second
	})
	h, err := e.Start(ctx(t), spec(t, runID(t), image, "true"))
	if h == nil {
		t.Fatalf("Start: handle nil, err %v; want a handle to remove", err)
	}
	defer func() {
		if err := e.Remove(ctx(t), h); err != nil {
			t.Errorf("Remove: %v", err)
		}
	}()
	if !errors.Is(err, batonswarm.ErrNotScheduled) || !strings.Contains(err.Error(), "no suitable node") {
		t.Fatalf("Start: err = %v, want %v saying why", err, batonswarm.ErrNotScheduled)
	}
	if _, err := e.Wait(ctx(t), h); !errors.Is(err, batonswarm.ErrNotScheduled) && !errors.Is(err, batonswarm.ErrTaskLost) {
		t.Errorf("Wait: err = %v, want the start's error again", err)
	}
	svc, _, err := s.Manager.ServiceInspectWithRaw(ctx(t), h.ID, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := svc.Spec.Mode.Replicated; r == nil || r.Replicas == nil || *r.Replicas != 0 {
		t.Errorf("service mode = %+v, want 0 replicas", svc.Spec.Mode)
	}
}

// A start cut short while the task waits for a node leaves the service,
// as it would for a baton that shuts down; stopping it then means the
// command never ran.
func TestStopBeforeRunning(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s, func(o *batonswarm.Options) {
		o.Constraints = []string{"node.labels.dev.baton.test.no-such-label==1"}
	})
	startCtx, cancel := contextWithTimeout(3 * time.Second)
	defer cancel()
	h, err := e.Start(startCtx, spec(t, runID(t), image, "true"))
	if h == nil || err == nil {
		t.Fatalf("Start = %v, %v; want a handle and the context's error", h, err)
	}
	defer func() {
		if err := e.Remove(ctx(t), h); err != nil {
			t.Errorf("Remove: %v", err)
		}
	}()
	if err := e.Stop(ctx(t), h, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := e.Wait(ctx(t), h); !errors.Is(err, executor.ErrNeverStarted) {
		t.Errorf("Wait after Stop: err = %v, want %v", err, executor.ErrNeverStarted)
	}
}

// A task the swarm shuts down on its own, here by draining its node, is
// lost: the attempt fails with an error worth retrying, and its service is
// scaled down, so the swarm never runs it again. The node is made active
// again afterwards.
//
// It is not parallel: draining a node would end the other tests' tasks.
func TestDrainedNode(t *testing.T) {
	s := swarmtest.New(t)
	if len(s.NodeIDs) < 2 {
		t.Skip("needs a node besides the manager")
	}
	image := s.Busybox(t)
	node := s.NodeIDs[len(s.NodeIDs)-1]
	e := newExecutor(t, s, func(o *batonswarm.Options) { o.Constraints = []string{"node.id==" + node} })
	h := start(t, e, spec(t, runID(t), image, "sleep", "60"))
	drain := func(a swarm.NodeAvailability) {
		n, _, err := s.Manager.NodeInspectWithRaw(ctx(t), node)
		if err != nil {
			t.Fatal(err)
		}
		n.Spec.Availability = a
		if err := s.Manager.NodeUpdate(ctx(t), node, n.Version, n.Spec); err != nil {
			t.Fatalf("set node %s %s: %v", node, a, err)
		}
	}
	drain(swarm.NodeAvailabilityDrain)
	t.Cleanup(func() { drain(swarm.NodeAvailabilityActive) })
	if _, err := e.Wait(ctx(t), h); !errors.Is(err, batonswarm.ErrTaskLost) {
		t.Fatalf("Wait: err = %v, want %v", err, batonswarm.ErrTaskLost)
	}
	svc, _, err := s.Manager.ServiceInspectWithRaw(ctx(t), h.ID, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := svc.Spec.Mode.Replicated; r == nil || r.Replicas == nil || *r.Replicas != 0 {
		t.Errorf("service mode = %+v, want 0 replicas", svc.Spec.Mode)
	}
	// Asked again, as after a restart of baton, Wait says the same.
	if _, err := e.Wait(ctx(t), h); !errors.Is(err, batonswarm.ErrTaskLost) {
		t.Errorf("second Wait: err = %v, want %v", err, batonswarm.ErrTaskLost)
	}
}

// A node without the output image gets it from baton, which needs no
// registry for it.
//
// It is not parallel: it removes the image other tests' attempts use.
func TestImportsOutputImage(t *testing.T) {
	s := swarmtest.New(t)
	image := s.Busybox(t)
	for i, cli := range s.Nodes {
		_, err := cli.ImageRemove(ctx(t), batonswarm.OutputImage, dockerimage.RemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Fatalf("remove %s from %s: %v", batonswarm.OutputImage, s.Hosts[i], err)
		}
	}
	e := newExecutor(t, s)
	_, r := run(t, e, spec(t, runID(t), image, "sh", "-c", `test -f "$BATON_OUTPUT" && test -w "$BATON_OUTPUT" && echo ok=1 > "$BATON_OUTPUT"`))
	if r.ExitCode != 0 || string(r.Output) != "ok=1\n" {
		t.Errorf("exit %d, output %q; want 0, ok=1", r.ExitCode, r.Output)
	}
	for i, cli := range s.Nodes {
		if _, err := cli.ImageInspect(ctx(t), batonswarm.OutputImage); err != nil {
			t.Errorf("%s after the attempt: %v", s.Hosts[i], err)
		}
	}
}
