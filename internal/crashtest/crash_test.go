package crashtest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/failpoint"
)

// relayPipeline is three busybox steps: one posts a=1 through the callback,
// two reads it and writes b through its output file, three reads b. Each
// prints a line the test looks for in the logs ([relayLines]).
//
// Step one retries its callback call, as a careful real step would: at some
// failpoints the server is down, or dies before answering, when it calls.
// Every step may be retried, so that an attempt baton lost track of has a
// legitimate way to end well.
func relayPipeline(name, image string) string {
	common := `
    image: ` + image + `
    pull: never
    timeout: 2m
    retry: {limit: 2, backoff: 1s}`
	return `name: ` + name + `
steps:
  - name: one` + common + `
    command:
      - sh
      - -c
      - |
        echo "one: posting"
        n=0
        until wget -q -O- --header "Authorization: Bearer $(cat "$BATON_TOKEN_FILE")" --header 'Content-Type: application/json' --post-data '{"variables": {"a": "1"}}' "$BATON_CALLBACK_URL"; do
          n=$((n+1))
          if [ "$n" -ge 60 ]; then echo "one: callback unreachable" >&2; exit 1; fi
          sleep 1
        done
  - name: two` + common + `
    command:
      - sh
      - -c
      - |
        echo "b=$BATON_VAR_a-2" >> "$BATON_OUTPUT"
        echo "two: a=$BATON_VAR_a"
  - name: three` + common + `
    command: ["sh", "-c", "echo \"three: b=$BATON_VAR_b\""]
`
}

// relayLines is the line each step of [relayPipeline] prints.
var relayLines = map[string]string{"one": "one: posting", "two": "two: a=1", "three": "three: b=1-2"}

// relayExpect is how every run of [relayPipeline] must end.
var relayExpect = expect{
	steps:   []string{"one", "two", "three"},
	vars:    map[string]string{"a": "1", "b": "1-2"},
	removed: true,
}

// bridgeHost returns this machine's address on Docker's default bridge.
// The server listens there, not on 127.0.0.1: containers reach the host
// through host.docker.internal, which is that address, and cannot reach its
// loopback. It is still an address only this machine and its containers see.
func bridgeHost(t *testing.T, cli *client.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nw, err := cli.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		t.Fatalf("inspect docker's bridge network: %v", err)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range nw.IPAM.Config {
		if ip := net.ParseIP(c.Gateway); ip != nil && ip.To4() != nil {
			return ip.String()
		}
		_, subnet, err := net.ParseCIDR(c.Subnet)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && subnet.Contains(ipn.IP) {
				return ipn.IP.String()
			}
		}
	}
	t.Fatalf("no address of this machine on docker's bridge network (%+v)", nw.IPAM.Config)
	return ""
}

// TestCrashPoints kills the server at every failpoint while it runs one
// relay run, restarts it on the same data, and checks that the run ends as
// if nothing had happened: once, with its variables and logs, its attempts
// one after another, and no container left.
func TestCrashPoints(t *testing.T) {
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	host := bridgeHost(t, cli)
	for _, point := range failpoint.All {
		t.Run(point, func(t *testing.T) {
			var ids []string
			removeContainersOf(t, cli, func() []string { return ids })
			s := newServer(t, host, "docker")
			s.start(point)
			s.waitReady()
			s.apply(relayPipeline("crash", image))

			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			r, err := s.client.Trigger(ctx, "crash", nil)
			cancel()
			accepted := "" // the run's id if the server answered 202
			switch {
			case err == nil:
				accepted = r.ID
				ids = append(ids, accepted)
			case isConnError(err):
				// At run-accepted the server dies before it answers.
				t.Logf("trigger: %v", err)
			default:
				t.Fatalf("trigger: %v", err)
			}
			s.waitDeath(60*time.Second, "at failpoint "+point)

			began := time.Now()
			s.restart()
			s.waitAllTerminal(90 * time.Second)
			t.Logf("run ended %s after the restart", time.Since(began).Round(time.Millisecond))

			runs := s.runs()
			for _, r := range runs {
				ids = append(ids, r.ID)
			}
			if len(runs) != 1 {
				t.Fatalf("%d runs after the crash, want exactly 1: %+v", len(runs), runs)
			}
			if accepted != "" && runs[0].ID != accepted {
				t.Errorf("the run is %s, but %s was accepted", runs[0].ID, accepted)
			}
			r = s.run(runs[0].ID)
			t.Logf("attempts: %s", attemptSummary(r))
			problems := runProblems(r, relayExpect)
			problems = append(problems, s.logProblems(r, relayLines)...)
			if left := containersOf(t, cli, r.ID); len(left) > 0 {
				problems = append(problems, "containers left: "+strings.Join(left, "; "))
			}
			reportRun(t, r, problems)
			s.stop()
		})
	}
}
