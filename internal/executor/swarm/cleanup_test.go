package swarm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/swarm/swarmtest"
)

// After success, failure, a timeout (Stop), a Remove of a running attempt
// and a failed start, Remove leaves no service, secret, container or
// volume of the attempt anywhere in the swarm.
func TestNothingLeftBehind(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	for _, tc := range []struct {
		name    string
		command []string
		// stop stops the attempt before waiting; wait waits for it.
		stop, wait bool
		startFails bool
	}{
		{"Success", []string{"sh", "-c", `echo x=1 > "$BATON_OUTPUT"`}, false, true, false},
		{"Failure", []string{"sh", "-c", "exit 3"}, false, true, false},
		{"Timeout", []string{"sleep", "60"}, true, true, false},
		{"RemoveRunning", []string{"sleep", "60"}, false, false, false},
		{"StartFails", []string{"baton-no-such-command"}, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newExecutor(t, s)
			rid := runID(t)
			sp := spec(t, rid, image, tc.command...)
			sp.Secrets = map[string][]byte{"db": []byte("secret-value")}
			sp.Token = "tok-" + rid
			h, err := e.Start(ctx(t), sp)
			if tc.startFails != (err != nil) {
				t.Fatalf("Start: err = %v, want failure %v", err, tc.startFails)
			}
			if h == nil {
				t.Fatal("Start returned no handle")
			}
			if before := leftovers(t, s, rid); len(before) < 3 {
				t.Fatalf("before Remove: %q; want at least the service, a secret and a volume, or the test proves nothing", before)
			}
			if tc.stop {
				if err := e.Stop(ctx(t), h, time.Second); err != nil {
					t.Fatalf("Stop: %v", err)
				}
			}
			if tc.wait {
				if _, err := e.Wait(ctx(t), h); err != nil {
					t.Fatalf("Wait: %v", err)
				}
			}
			if err := e.Remove(ctx(t), h); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if left := leftovers(t, s, rid); len(left) != 0 {
				t.Errorf("after Remove: %q remain", left)
			}
		})
	}
}

// leftovers lists what carries run's label: services and secrets on the
// manager, containers and volumes on every node.
func leftovers(t *testing.T, s *swarmtest.Swarm, run string) []string {
	t.Helper()
	f := filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+run))
	var left []string
	services, err := s.Manager.ServiceList(ctx(t), swarm.ServiceListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range services {
		left = append(left, "service "+x.Spec.Name)
	}
	secrets, err := s.Manager.SecretList(ctx(t), swarm.SecretListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range secrets {
		left = append(left, "secret "+x.Spec.Name)
	}
	for i, cli := range s.Nodes {
		cs, err := cli.ContainerList(ctx(t), container.ListOptions{All: true, Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			left = append(left, fmt.Sprintf("container %s on %s", c.ID[:12], s.Hosts[i]))
		}
		vols, err := cli.VolumeList(ctx(t), volume.ListOptions{Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vols.Volumes {
			left = append(left, fmt.Sprintf("volume %s on %s", v.Name, s.Hosts[i]))
		}
	}
	return left
}
