package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/store"
)

// Benchmarks: see docs/benchmarks.md for the commands and results.

func newBenchHarness(b *testing.B) *harness {
	return newHarness(b, noop.New(), "", "")
}

func newBenchDockerHarness(b *testing.B) *harness {
	h, _, _ := newDockerHarness(b)
	return h
}

// applyNoop stores a pipeline of n sequential steps.
func applyNoop(b *testing.B, h *harness, name string, n int) string {
	spec := "name: " + name + "\nsteps:\n"
	for i := range n {
		spec += fmt.Sprintf("  - name: s%d\n    command: [\"true\"]\n", i)
	}
	if _, _, err := h.eng.Apply(context.Background(), "bench.yaml", []byte(spec)); err != nil {
		b.Fatal(err)
	}
	return name
}

// submitWait runs one run of pipeline to its end.
func submitWait(b *testing.B, h *harness, pipeline string) {
	ctx := context.Background()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: pipeline})
	if err != nil {
		b.Fatal(err)
	}
	r, err := h.eng.Wait(ctx, run.ID)
	if err != nil {
		b.Fatal(err)
	}
	if r.Status != store.RunSucceeded {
		b.Fatalf("run %s: %s %s", r.ID, r.Status, r.Error)
	}
}

func reportPercentiles(b *testing.B, d []time.Duration, unit string) {
	slices.Sort(d)
	p := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.50), "p50-ms/"+unit)
	b.ReportMetric(p(0.99), "p99-ms/"+unit)
}

// BenchmarkStepOverhead is baton's own cost per step: a 10-step sequential
// pipeline on the no-op executor, so all that is measured is the engine and
// its durable store.
func BenchmarkStepOverhead(b *testing.B) {
	h := newBenchHarness(b)
	name := applyNoop(b, h, "overhead", 10)
	var per []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		submitWait(b, h, name)
		per = append(per, time.Since(start)/10)
	}
	reportPercentiles(b, per, "step")
}

// BenchmarkThroughput runs 100 concurrent 3-step runs of no-op steps and
// reports steps per second.
func BenchmarkThroughput(b *testing.B) {
	h := newBenchHarness(b)
	name := applyNoop(b, h, "throughput", 3)
	const runs = 100
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for range runs {
			wg.Go(func() { submitWait(b, h, name) })
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.N*runs*3)/time.Since(start).Seconds(), "steps/s")
}

// BenchmarkDockerPipeline compares a 3-step container pipeline with the same
// three containers created, started, waited for and removed directly
// through the Engine API, interleaved in one run so both see the same
// machine.
func BenchmarkDockerPipeline(b *testing.B) {
	image := dockertest.BusyboxImage(b)
	cli := dockertest.Client(b)
	h := newBenchDockerHarness(b)
	name := "bench-docker"
	spec := "name: " + name + "\nsteps:\n"
	for i := range 3 {
		spec += fmt.Sprintf("  - name: s%d\n    image: %s\n    pull: never\n    command: [\"true\"]\n", i, image)
	}
	if _, _, err := h.eng.Apply(context.Background(), "bench.yaml", []byte(spec)); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// The same containers: hardened as baton makes them (capabilities
	// dropped, no new privileges, a process limit, a private /tmp).
	pids := int64(512)
	hardened := &container.HostConfig{
		CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges:true"},
		IpcMode: container.IPCModePrivate, CgroupnsMode: container.CgroupnsModePrivate,
		Tmpfs:     map[string]string{"/tmp": "rw,nosuid,nodev,mode=1777"},
		Resources: container.Resources{PidsLimit: &pids},
	}
	direct := func() {
		for range 3 {
			c, err := cli.ContainerCreate(ctx, &container.Config{Image: image, Cmd: []string{"true"}}, hardened, nil, nil, "")
			if err != nil {
				b.Fatal(err)
			}
			if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
				b.Fatal(err)
			}
			okC, errC := cli.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
			select {
			case <-okC:
			case err := <-errC:
				b.Fatal(err)
			}
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
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
		submitWait(b, h, name)
		t2 := time.Now()
		viaAPI += t1.Sub(t0)
		viaBaton += t2.Sub(t1)
	}
	b.ReportMetric(viaAPI.Seconds()/float64(b.N), "direct-s/op")
	b.ReportMetric(viaBaton.Seconds()/float64(b.N), "baton-s/op")
	b.ReportMetric(viaBaton.Seconds()/viaAPI.Seconds(), "ratio")
}

// BenchmarkFanOut runs a 1,000-item fan-out of no-op steps and reports
// the whole step's time per item: expanding the items into instances,
// starting each, storing its end and gathering the outputs.
func BenchmarkFanOut(b *testing.B) {
	h := newBenchHarness(b)
	items := make([]string, 1000)
	for i := range items {
		items[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	spec := "name: fanout\nvars:\n  list: '[" + strings.Join(items, ",") + "]'\nsteps:\n  - name: each\n    for_each: '{{ .Vars.list }}'\n    max_parallel: 1000\n    command: [\"true\"]\n"
	if _, _, err := h.eng.Apply(context.Background(), "fanout.yaml", []byte(spec)); err != nil {
		b.Fatal(err)
	}
	var per []time.Duration
	for b.Loop() {
		start := time.Now()
		submitWait(b, h, "fanout")
		per = append(per, time.Since(start)/1000)
	}
	reportPercentiles(b, per, "item")
}
