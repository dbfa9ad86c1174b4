package swarm_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor"
	batonswarm "github.com/baton-dev/baton/internal/executor/swarm"
	"github.com/baton-dev/baton/internal/executor/swarm/swarmtest"
)

const token = "tok-0123456789abcdef-do-not-leak"

// The service and its container carry baton's labels and its hardening;
// the token is a secret file, in neither the service's environment nor
// its command; ListOwned finds the attempt by its labels.
func TestTaskSetup(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s, func(o *batonswarm.Options) {
		o.DefaultLimits = executor.Limits{MemoryBytes: 64 << 20}
	})
	sp := spec(t, runID(t), image, "sh", "-c", `env | grep -q "$(cat "$BATON_TOKEN_FILE")" && exit 10
		echo x > "$BATON_TOKEN_FILE" 2>/dev/null && exit 11
		touch /not-writable 2>/dev/null && exit 12
		grep CapBnd /proc/self/status > "$BATON_OUTPUT"; id -u >> "$BATON_OUTPUT"`)
	sp.Attempt = 2
	sp.Token = token
	sp.Env = map[string]string{executor.EnvToken: "from-the-spec", executor.EnvTokenFile: "/elsewhere"}
	sp.User = "1234:1234"
	sp.ReadOnlyRoot = true
	sp.CapAdd = []string{"cap_net_bind_service"}
	sp.Limits = executor.Limits{PIDs: 77, NanoCPUs: 5e8}
	h, r := run(t, e, sp)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (10: token in the environment, 11: token file writable, 12: root writable)", r.ExitCode)
	}
	// The bounding set holds CAP_NET_BIND_SERVICE alone, bit 10.
	if got, want := string(r.Output), "CapBnd:\t0000000000000400\n1234\n"; got != want {
		t.Errorf("capabilities and uid = %q, want %q", got, want)
	}

	svc, _, err := s.Manager.ServiceInspectWithRaw(ctx(t), h.ID, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		executor.LabelManaged:  "true",
		executor.LabelRun:      sp.RunID,
		executor.LabelStep:     sp.Step,
		executor.LabelAttempt:  "2",
		executor.LabelInstance: instance,
	}
	cs := svc.Spec.TaskTemplate.ContainerSpec
	for k, v := range want {
		if got := svc.Spec.Labels[k]; got != v {
			t.Errorf("service label %s = %q, want %q", k, got, v)
		}
		if got := cs.Labels[k]; got != v {
			t.Errorf("container label %s = %q, want %q", k, got, v)
		}
	}
	for _, env := range cs.Env {
		if strings.Contains(env, token) || strings.HasPrefix(env, executor.EnvToken+"=") {
			t.Errorf("token in the service's environment: %q", env)
		}
	}
	if !slices.Contains(cs.Env, executor.EnvTokenFile+"=/run/secrets/.baton-token") {
		t.Errorf("Env = %q, want %s=/run/secrets/.baton-token", cs.Env, executor.EnvTokenFile)
	}
	for _, arg := range append(slices.Clone(cs.Command), cs.Args...) {
		if strings.Contains(arg, token) {
			t.Errorf("token in the service's command: %q", arg)
		}
	}
	if svc.Spec.TaskTemplate.RestartPolicy.Condition != swarm.RestartPolicyConditionNone || svc.Spec.Mode.Replicated == nil {
		t.Errorf("mode %+v, restart %+v; want replicated, restart condition none", svc.Spec.Mode, svc.Spec.TaskTemplate.RestartPolicy)
	}

	tk := task(t, s, h)
	node := nodeClient(t, s, tk.NodeID)
	info, err := node.ContainerInspect(ctx(t), tk.Status.ContainerStatus.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	hc := info.HostConfig
	if !slices.Equal(hc.CapDrop, []string{"ALL"}) || !slices.Equal(hc.CapAdd, []string{"NET_BIND_SERVICE"}) {
		t.Errorf("CapDrop %q, CapAdd %q; want ALL, NET_BIND_SERVICE", hc.CapDrop, hc.CapAdd)
	}
	if hc.Privileged || !hc.ReadonlyRootfs || hc.PidMode.IsHost() || hc.IpcMode.IsHost() || hc.NetworkMode.IsHost() {
		t.Errorf("privileged %v, read-only root %v, pid %q, ipc %q, network %q", hc.Privileged, hc.ReadonlyRootfs, hc.PidMode, hc.IpcMode, hc.NetworkMode)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != 77 || hc.Memory != 64<<20 || hc.NanoCPUs != 5e8 {
		t.Errorf("pids %v, memory %d, CPUs %d; want 77, 64 MiB from the defaults, 0.5", hc.PidsLimit, hc.Memory, hc.NanoCPUs)
	}
	if lc := hc.LogConfig; lc.Type != "json-file" || lc.Config["max-size"] != "16m" || lc.Config["max-file"] != "2" {
		t.Errorf("LogConfig = %+v, want json-file, 16m, 2 files", lc)
	}
	if info.Config.User != sp.User {
		t.Errorf("User = %q, want %q", info.Config.User, sp.User)
	}

	owned, err := e.ListOwned(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(owned, func(o executor.Owned) bool { return o.Handle.ID == h.ID })
	if i < 0 {
		t.Fatalf("ListOwned does not list %s", h.ID)
	}
	if o := owned[i]; o.RunID != sp.RunID || o.Step != sp.Step || o.Attempt != 2 || o.Handle.Executor != "swarm" {
		t.Errorf("ListOwned entry = %+v", o)
	}
}

// nodeClient is the engine of node id.
func nodeClient(t *testing.T, s *swarmtest.Swarm, id string) *client.Client {
	t.Helper()
	i := slices.Index(s.NodeIDs, id)
	if i < 0 {
		t.Fatalf("the task ran on node %s, which the test does not know", id)
	}
	return s.Nodes[i]
}

// With pull policy never, or if-missing when every node has it, the
// service runs the image by the ID the nodes have, so no node asks a
// registry for it; the step's name for it is kept in a label.
func TestImageByID(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	img, err := s.Manager.ImageInspect(ctx(t), image)
	if err != nil {
		t.Fatal(err)
	}
	e := newExecutor(t, s)
	for _, pull := range []string{executor.PullNever, executor.PullIfMissing} {
		sp := spec(t, runID(t), image, "true")
		sp.Pull = pull
		h, r := run(t, e, sp)
		svc, _, err := s.Manager.ServiceInspectWithRaw(ctx(t), h.ID, swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := svc.Spec.TaskTemplate.ContainerSpec.Image; got != img.ID {
			t.Errorf("pull %s: service image = %q, want the ID %s", pull, got, img.ID)
		}
		if got := svc.Spec.Labels["dev.baton.swarm.image"]; got != image {
			t.Errorf("pull %s: image label = %q, want %q", pull, got, image)
		}
		if r.ImageDigest != img.ID {
			t.Errorf("pull %s: ImageDigest = %q, want %s", pull, r.ImageDigest, img.ID)
		}
	}
}

// An image no node has, with pull policy never, is ErrImageNotFound, and
// nothing is left of the attempt.
func TestMissingImage(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	e := newExecutor(t, s)
	rid := runID(t)
	sp := spec(t, rid, "baton-test/no-such-image:never", "true")
	h, err := e.Start(ctx(t), sp)
	if !errors.Is(err, executor.ErrImageNotFound) || !strings.Contains(err.Error(), sp.Image) {
		t.Errorf("err = %v, want %v naming the image", err, executor.ErrImageNotFound)
	}
	if h != nil {
		t.Errorf("handle = %+v, want nil", h)
	}
	if left := leftovers(t, s, rid); len(left) != 0 {
		t.Errorf("%q left", left)
	}
}

func TestUnknownHandle(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	e := newExecutor(t, s)
	h := &executor.Handle{Executor: "swarm", ID: "baton-test-no-such-service"}
	if _, err := e.Wait(ctx(t), h); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Wait: err = %v, want %v", err, executor.ErrNotFound)
	}
	if err := e.FollowLogs(ctx(t), h, func(executor.LogLine) {}); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("FollowLogs: err = %v, want %v", err, executor.ErrNotFound)
	}
	if err := e.Stop(ctx(t), h, 0); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Stop: err = %v, want %v", err, executor.ErrNotFound)
	}
	if err := e.Remove(ctx(t), h); err != nil {
		t.Errorf("Remove: %v", err)
	}
}

func TestLongLogLines(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s)
	// 100,000 bytes on one line, which the engine itself splits at 16 KiB.
	h, _ := run(t, e, spec(t, runID(t), image, "sh", "-c", `head -c 100000 /dev/zero | tr '\0' a; echo; echo short`))
	var lens []int
	var partial []bool
	if err := e.FollowLogs(ctx(t), h, func(l executor.LogLine) {
		lens = append(lens, len(l.Text))
		partial = append(partial, l.Partial)
	}); err != nil {
		t.Fatal(err)
	}
	if want := []int{65536, 100000 - 65536, 5}; !slices.Equal(lens, want) {
		t.Errorf("line lengths = %v, want %v", lens, want)
	}
	if want := []bool{true, false, false}; !slices.Equal(partial, want) {
		t.Errorf("Partial = %v, want %v", partial, want)
	}
}

// A task on any node reaches baton's host at the address its callback URL
// names; on the CI swarm that is the nodes' bridge.
func TestReachesHost(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	ln, err := net.Listen("tcp", swarmtest.HostGateway+":0")
	if err != nil {
		t.Skipf("no %s on this machine: %v", swarmtest.HostGateway, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the host")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := fmt.Sprintf("http://%s/", ln.Addr())
	for _, node := range s.NodeIDs {
		t.Run(node, func(t *testing.T) {
			t.Parallel()
			e := newExecutor(t, s, func(o *batonswarm.Options) { o.Constraints = []string{"node.id==" + node} })
			// timeout, not wget -T: Debian's busybox-static wget crashes on -T.
			_, r := run(t, e, spec(t, runID(t), image, "timeout", "30", "wget", "-q", "-O", "/baton/output", url))
			if r.ExitCode != 0 || string(r.Output) != "hello from the host" {
				t.Errorf("exit %d, output %q: a task on node %s cannot reach %s", r.ExitCode, r.Output, node, url)
			}
		})
	}
}

// A step killed for memory says so, as the node's engine saw it.
func TestOOMKilled(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s)
	sp := spec(t, runID(t), image, "sh", "-c", "tail /dev/zero")
	sp.Limits.MemoryBytes = 16 << 20
	_, r := run(t, e, sp)
	if r.ExitCode == 0 || !r.OOMKilled {
		t.Errorf("exit %d, OOMKilled %v; want non-zero and true", r.ExitCode, r.OOMKilled)
	}
}

// Starting an attempt that already runs is refused, and leaves the first
// start's service, volume and secrets alone.
func TestStartTwice(t *testing.T) {
	t.Parallel()
	s := swarmtest.New(t)
	image := s.Busybox(t)
	e := newExecutor(t, s)
	sp := spec(t, runID(t), image, "sh", "-c", `sleep 2; cat /run/secrets/db > "$BATON_OUTPUT"`)
	sp.Secrets = map[string][]byte{"db": []byte("first")}
	h := start(t, e, sp)
	again := *sp
	again.Secrets = map[string][]byte{"db": []byte("second")}
	if h2, err := e.Start(ctx(t), &again); err == nil || h2 != nil {
		t.Fatalf("second Start = %v, %v; want an error and no handle", h2, err)
	}
	r, err := e.Wait(ctx(t), h)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || string(r.Output) != "first" {
		t.Errorf("first attempt: exit %d, output %q; want 0, %q", r.ExitCode, r.Output, "first")
	}
}
