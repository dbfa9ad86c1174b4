package swarm_test

import (
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"

	"github.com/baton-dev/baton/internal/executor"
	batonswarm "github.com/baton-dev/baton/internal/executor/swarm"
	"github.com/baton-dev/baton/internal/executor/swarm/swarmtest"
)

// An attempt's output volume is made only on the nodes the executor's
// constraints let its task run on: one node for an attempt held to one,
// the workers for one held to workers. The task runs where it was made.
func TestVolumeOnlyWhereItMayRun(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	if len(s.NodeIDs) < 3 {
		t.Skipf("the swarm has %d nodes, want 3", len(s.NodeIDs))
	}
	image := s.Busybox(t)
	for _, tc := range []struct {
		name       string
		constraint string
		want       []string // node IDs
	}{
		{"OneNode", "node.id==" + s.NodeIDs[2], []string{s.NodeIDs[2]}},
		{"Workers", "node.role==worker", s.NodeIDs[1:3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newExecutor(t, s, func(o *batonswarm.Options) { o.Constraints = []string{tc.constraint} })
			rid := runID(t)
			h := start(t, e, spec(t, rid, image, "sleep", "30"))
			var got []string
			for i, cli := range s.Nodes {
				vols, err := cli.VolumeList(ctx(t), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+rid))})
				if err != nil {
					t.Fatal(err)
				}
				if len(vols.Volumes) > 0 {
					got = append(got, s.NodeIDs[i])
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("output volumes on %q, want on %q", got, want)
			}
			if node := task(t, s, h).NodeID; !slices.Contains(want, node) {
				t.Errorf("the task runs on %s, where it has no volume", node)
			}
		})
	}
}

// Start returns once the node has started the task's container, which
// may be before the manager says it runs; a Stop right then stops the
// container through the node's engine with the step's grace, and does not
// scale the service down, which would leave the grace to the swarm.
func TestStopRightAfterStart(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s)
	h := start(t, e, spec(t, runID(t), image, "sh", "-c", `trap "exit 7" TERM; sleep 60 & wait`))
	if err := e.Stop(ctx(t), h, 30*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r, err := e.Wait(ctx(t), h)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if r.ExitCode != 7 {
		t.Errorf("exit %d, want 7 from the step's TERM trap", r.ExitCode)
	}
	svc, _, err := s.Manager.ServiceInspectWithRaw(ctx(t), h.ID, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := svc.Spec.Mode.Replicated; r == nil || r.Replicas == nil || *r.Replicas != 1 {
		t.Errorf("service mode = %+v, want 1 replica: the task was stopped by scaling down", svc.Spec.Mode)
	}
	if l := svc.Spec.Labels["dev.baton.swarm.stopped"]; l != "" {
		t.Errorf("stopped label %q: Stop scaled the service down", l)
	}
}
