package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	batonswarm "github.com/baton-dev/baton/internal/executor/swarm"
	"github.com/baton-dev/baton/internal/executor/swarm/swarmtest"
)

// BenchmarkSwarmPipeline compares a 3-step pipeline on the multi-node
// swarm, one step per node, with the same three services created, waited
// for and removed directly through the manager's Engine API, interleaved
// in one run so both see the same machine. See docs/benchmarks.md.
func BenchmarkSwarmPipeline(b *testing.B) {
	s := swarmtest.New(b)
	if len(s.NodeIDs) < 3 {
		b.Skipf("the swarm has %d nodes; this benchmark places its steps on 3", len(s.NodeIDs))
	}
	image := s.Busybox(b)
	ctx := context.Background()
	img, err := s.Manager.ImageInspect(ctx, image)
	if err != nil {
		b.Fatal(err)
	}

	// One swarm executor per node, each keeping its tasks there.
	execs := map[string]executor.Executor{}
	spec := "name: bench-swarm\nsteps:\n"
	for i, node := range s.NodeIDs[:3] {
		e, err := batonswarm.New(batonswarm.Options{
			Host: s.Hosts[0], Nodes: s.Hosts[1:], Instance: "bench-swarm",
			Constraints: []string{"node.id==" + node},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		name := fmt.Sprintf("n%d", i)
		execs[name] = e
		spec += fmt.Sprintf("  - name: s%d\n    executor: %s\n    image: %s\n    pull: never\n    command: [\"true\"]\n", i, name, image)
	}
	h := newHarness(b, nil, "", "", func(cfg *engine.Config) {
		cfg.Executor = nil
		cfg.Executors = execs
		cfg.DefaultExecutor = "n0"
	})
	if _, _, err := h.eng.Apply(ctx, "bench.yaml", []byte(spec)); err != nil {
		b.Fatal(err)
	}

	direct := func() {
		for _, node := range s.NodeIDs[:3] {
			svc := directService(b, s, img.ID, node)
			waitTask(b, s, svc)
			if err := s.Manager.ServiceRemove(ctx, svc); err != nil {
				b.Fatal(err)
			}
		}
	}
	var viaAPI, viaBaton time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		direct()
		t1 := time.Now()
		submitWait(b, h, "bench-swarm")
		t2 := time.Now()
		viaAPI += t1.Sub(t0)
		viaBaton += t2.Sub(t1)
	}
	b.ReportMetric(viaAPI.Seconds()/float64(b.N), "direct-s/op")
	b.ReportMetric(viaBaton.Seconds()/float64(b.N), "baton-s/op")
	b.ReportMetric(viaBaton.Seconds()/viaAPI.Seconds(), "ratio")
}

// directService creates a service as the swarm executor would for a step
// running true on node, minus what baton adds (labels, the output volume,
// the secrets tmpfs), and returns its ID. It keeps the hardening: all
// capabilities dropped, no new privileges, a process limit, bounded logs,
// and the image by ID, so no node asks a registry.
func directService(b *testing.B, s *swarmtest.Swarm, imageID, node string) string {
	replicas := uint64(1)
	resp, err := s.Manager.ServiceCreate(context.Background(), swarm.ServiceSpec{
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: imageID, Args: []string{"true"},
				CapabilityDrop: []string{"ALL"},
				Privileges:     &swarm.Privileges{NoNewPrivileges: true},
			},
			Resources:     &swarm.ResourceRequirements{Limits: &swarm.Limit{Pids: batonswarm.DefaultPIDs}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{Constraints: []string{"node.id==" + node}},
			LogDriver:     &swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "16m", "max-file": "2"}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}, swarm.ServiceCreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return resp.ID
}

// waitTask polls the service's task list every 50 ms, the executor's
// first interval (it then backs off), until its task has completed.
func waitTask(b *testing.B, s *swarmtest.Swarm, svc string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		tasks, err := s.Manager.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc))})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range tasks {
			switch t.Status.State {
			case swarm.TaskStateComplete:
				return
			case swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateShutdown, swarm.TaskStateOrphaned:
				b.Fatalf("direct service %s: task %s: %s", svc, t.Status.State, t.Status.Err)
			}
		}
		select {
		case <-ctx.Done():
			b.Fatalf("direct service %s: no completed task: %v", svc, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
