package crashtest

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
)

// fleetLease is the lease the fleet's servers hold runs for: short, so
// that a takeover comes within seconds.
const fleetLease = "3s"

// fleet is several baton servers on one PostgreSQL database, each with a
// data dir of its own and one secret key they share, running steps on the
// one local Docker engine: a Docker host every server reaches.
type fleet struct {
	t       *testing.T
	cli     *client.Client
	image   string
	servers []*server
}

// newFleet starts n servers on a fresh database; the first creates the
// store and its admin token, which the others' clients use too.
func newFleet(t *testing.T, n int) *fleet {
	t.Helper()
	url := pgtest.Database(t)
	key := filepath.Join(t.TempDir(), "secret.key")
	if err := secret.GenerateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	f := &fleet{t: t, cli: dockertest.Client(t), image: dockertest.BusyboxImage(t)}
	host := bridgeHost(t, f.cli)
	for i := range n {
		s := newServer(t, host, "docker")
		s.extra = []string{"--store", url, "--secret-key-file", key, "--lease", fleetLease}
		s.start("")
		if i == 0 {
			s.waitReady()
		} else {
			s.client.Token = f.servers[0].client.Token
			s.waitReady()
		}
		f.servers = append(f.servers, s)
	}
	return f
}

// fleetPipeline is the relay pipeline with a second step that takes a few
// seconds, so that runs are in flight when a server dies.
func fleetPipeline(name, image string) string {
	p := relayPipeline(name, image)
	return strings.Replace(p, `echo "b=$BATON_VAR_a-2" >> "$BATON_OUTPUT"`, `sleep 4; echo "b=$BATON_VAR_a-2" >> "$BATON_OUTPUT"`, 1)
}

// submit starts n runs through server s and returns their ids.
func (f *fleet) submit(s *server, pipeline string, n int) []string {
	f.t.Helper()
	var ids []string
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		r, err := s.client.Trigger(ctx, pipeline, nil)
		cancel()
		if err != nil {
			f.t.Fatalf("trigger: %v", err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// waitRunning waits until step two of every run has an attempt running.
func (f *fleet) waitRunning(s *server, ids []string) {
	f.t.Helper()
	waitUntil(f.t, 2*time.Minute, "every run at its second step", func() bool {
		for _, id := range ids {
			r := s.run(id)
			if len(r.Steps) < 2 || r.Steps[1].Status != "running" {
				return false
			}
		}
		return true
	})
}

// check fails the test unless every run ended as a run without a crash
// does, and no container of theirs is left.
func (f *fleet) check(s *server, ids []string) {
	f.t.Helper()
	for _, id := range ids {
		r := s.run(id)
		problems := runProblems(r, relayExpect)
		if left := containersOf(f.t, f.cli, id); len(left) > 0 {
			problems = append(problems, "containers left: "+strings.Join(left, "; "))
		}
		reportRun(f.t, r, problems)
	}
}

// live returns the servers whose current life has not ended.
func (f *fleet) live() []*server {
	var out []*server
	for _, s := range f.servers {
		if s.proc != nil && !s.proc.exited() {
			out = append(out, s)
		}
	}
	return out
}

// TestFailover: two servers, twelve 3-step container runs in flight on the
// first; kill -9 it. The other takes every run over once the leases end,
// re-attaches to the containers and finishes each run, every step's
// outputs applied once, no container left.
func TestFailover(t *testing.T) {
	f := newFleet(t, 2)
	a, b := f.servers[0], f.servers[1]
	a.apply(fleetPipeline("failover", f.image))
	ids := f.submit(a, "failover", 12)
	removeContainersOf(t, f.cli, func() []string { return ids })
	f.waitRunning(a, ids)
	a.kill()
	began := time.Now()
	b.waitAllTerminal(3 * time.Minute)
	t.Logf("every run ended %s after its server was killed", time.Since(began).Round(time.Millisecond))
	f.check(b, ids)
}

// TestFailoverInTurn: three servers; each is killed in turn while runs are
// in flight, and started again before the next is killed. Every run ends
// as if nothing had happened.
func TestFailoverInTurn(t *testing.T) {
	f := newFleet(t, 3)
	f.servers[0].apply(fleetPipeline("inturn", f.image))
	ids := f.submit(f.servers[0], "inturn", 6)
	ids = append(ids, f.submit(f.servers[1], "inturn", 6)...)
	removeContainersOf(t, f.cli, func() []string { return ids })
	for _, s := range f.servers {
		time.Sleep(2 * time.Second) // some step under way
		s.kill()
		time.Sleep(4 * time.Second) // past the lease: others take over
		s.start("")
		s.waitReady()
	}
	f.servers[2].waitAllTerminal(3 * time.Minute)
	f.check(f.servers[2], ids)
}

// TestPausedServerFenced: a server paused (SIGSTOP) past its lease loses
// its run to another; when it wakes, its late writes are refused, it lets
// the run go, and the run ends once, as if nothing had happened.
func TestPausedServerFenced(t *testing.T) {
	f := newFleet(t, 2)
	a, b := f.servers[0], f.servers[1]
	a.apply(fleetPipeline("paused", f.image))
	ids := f.submit(a, "paused", 1)
	removeContainersOf(t, f.cli, func() []string { return ids })
	f.waitRunning(a, ids)
	if err := a.proc.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	woken := false
	wake := func() {
		if !woken {
			woken = true
			_ = a.proc.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	defer wake()
	// The other server takes the run once the lease ends; the paused one
	// wakes while the new owner drives it.
	waitUntil(t, 3*time.Minute, "the run's second step to run again under the new owner", func() bool {
		r := b.run(ids[0])
		return len(r.Steps) > 1 && len(r.Steps[1].Attempts) > 0 && logHas(b, ids[0], "two", "") && strings.Contains(b.tail(len(b.logs)-1, 200), "taking over runs")
	})
	wake()
	b.waitAllTerminal(2 * time.Minute)
	f.check(b, ids)
	waitUntil(t, 30*time.Second, "the woken server to say it lost the run", func() bool {
		return strings.Contains(a.tail(len(a.logs)-1, 400), "another server")
	})
	if a.proc.exited() {
		t.Fatalf("the woken server exited (%v)", a.proc.state)
	}
}

// logHas reports whether a step's stored log has a line containing text.
func logHas(s *server, runID, step, text string) bool {
	lines, err := s.logLines(runID, step)
	if err != nil {
		return false
	}
	for _, l := range lines {
		if strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}

// TestScheduleOnceAcrossServers: three servers with one schedule firing
// every second for 30 s start one run per tick, not one per server.
func TestScheduleOnceAcrossServers(t *testing.T) {
	f := newFleet(t, 3)
	f.servers[0].apply(`name: ticks
schedules:
  - cron: "@every 1s"
    overlap: allow
steps:
  - name: tick
    image: ` + f.image + `
    pull: never
    command: ["true"]
`)
	began := time.Now()
	time.Sleep(30 * time.Second)
	pause := f.servers[1].client
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := pause.PauseSchedules(ctx, "ticks"); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(began)
	f.servers[2].waitAllTerminal(time.Minute)
	runs := f.servers[2].runs()
	var created []time.Time
	for _, r := range runs {
		created = append(created, r.CreatedAt)
	}
	slices.SortFunc(created, func(a, b time.Time) int { return a.Compare(b) })
	ticks := int(elapsed / time.Second)
	if len(created) < ticks-3 || len(created) > ticks+1 {
		t.Errorf("%d runs in %s of a 1s schedule on three servers, want about %d", len(created), elapsed.Round(time.Second), ticks)
	}
	for i := 1; i < len(created); i++ {
		if gap := created[i].Sub(created[i-1]); gap < 500*time.Millisecond {
			t.Errorf("two runs %s apart (at %s and %s): one tick fired twice", gap, created[i-1].Format(time.StampMilli), created[i].Format(time.StampMilli))
		}
	}
}

// TestCancelAndFollowThroughAnotherServer: logs -f and a cancel against a
// server that does not own the run: the lines arrive as the step prints
// them, and the cancel stops the run on its owner at once.
func TestCancelAndFollowThroughAnotherServer(t *testing.T) {
	f := newFleet(t, 2)
	a, b := f.servers[0], f.servers[1]
	a.apply(`name: ticker
steps:
  - name: count
    image: ` + f.image + `
    pull: never
    timeout: 5m
    command: ["sh", "-c", "trap 'exit 143' TERM; i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done"]
`)
	ids := f.submit(a, "ticker", 1)
	removeContainersOf(t, f.cli, func() []string { return ids })
	pr, pw := io.Pipe()
	followed := make(chan error, 1)
	go func() {
		err := b.client.Logs(context.Background(), ids[0], "count", true, pw)
		pw.CloseWithError(err)
		followed <- err
	}()
	sc := bufio.NewScanner(pr)
	seen := 0
	for seen < 5 && sc.Scan() {
		if strings.Contains(sc.Text(), "line ") {
			seen++
		}
	}
	if seen < 5 {
		t.Fatalf("logs -f through the other server gave %d lines before it ended (%v)", seen, sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	asked := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := b.client.Cancel(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the run to end canceled", func() bool {
		return b.run(ids[0]).Status == "canceled"
	})
	t.Logf("canceled %s after the other server was asked", time.Since(asked).Round(time.Millisecond))
	select {
	case err := <-followed:
		if err != nil {
			t.Errorf("logs -f through the other server: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("logs -f through the other server did not end with the run")
	}
	if left := containersOf(t, f.cli, ids[0]); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}
}
