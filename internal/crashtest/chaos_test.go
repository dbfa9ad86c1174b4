package crashtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/store"
)

// noopPipeline is three steps the noop executor ends at once. They may be
// retried: the noop executor cannot find an attempt whose handle a crash
// kept from the store, so such an attempt fails and is tried again.
const noopPipeline = `name: chaos
steps:
  - name: one
    command: ["true"]
    retry: {limit: 5}
  - name: two
    command: ["true"]
    retry: {limit: 5}
  - name: three
    command: ["true"]
    retry: {limit: 5}
`

// chaosPlan says how hard [chaos] shakes the server.
type chaosPlan struct {
	runs  int           // runs to get accepted
	pace  time.Duration // between two submissions
	kills int
	// Each life of the server is killed a random time in [minLife, maxLife)
	// after it was started.
	minLife, maxLife time.Duration
	// accepted, if set, is called from the submitting goroutine with the id
	// of each run answered 202.
	accepted func(id string)
}

// chaos submits plan.runs runs of the pipeline from one goroutine at a steady
// pace while this one kills the server with SIGKILL at random and restarts
// it. A submission the server did not answer with 202 (it was down, or died
// before answering) is tried again later and does not count. When chaos
// returns, the server runs its last life and every run was submitted; it
// returns the ids of the runs answered with 202.
func chaos(t *testing.T, s *server, plan chaosPlan) []string {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("BATON_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("BATON_CHAOS_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("chaos seed %d (BATON_CHAOS_SEED=%d repeats the kill schedule)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	var (
		mu       sync.Mutex
		accepted []string
		dropped  int // submissions without an answer
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(2 * time.Minute)
		for n := 0; n < plan.runs; {
			if time.Now().After(deadline) {
				t.Errorf("submitter: only %d of %d runs accepted after 2m", n, plan.runs)
				return
			}
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r, err := s.client.Trigger(ctx, "chaos", nil)
			cancel()
			switch {
			case err == nil:
				n++
				mu.Lock()
				accepted = append(accepted, r.ID)
				mu.Unlock()
				if plan.accepted != nil {
					plan.accepted(r.ID)
				}
				time.Sleep(plan.pace)
			case isConnError(err):
				mu.Lock()
				dropped++
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			default:
				t.Errorf("submitter: the server refused a run: %v", err)
				return
			}
		}
	}()
	stopSubmitter := sync.OnceFunc(func() {
		close(stop)
		<-done
	})
	t.Cleanup(stopSubmitter) // if the kill loop gives up

	began := time.Now()
	for k := range plan.kills {
		life := plan.minLife + time.Duration(rng.Int64N(int64(plan.maxLife-plan.minLife)))
		time.Sleep(life)
		s.kill()
		mu.Lock()
		t.Logf("kill %d after %s of life: %d runs accepted, %d submissions dropped so far", k+1, life, len(accepted), dropped)
		mu.Unlock()
		s.start("")
	}
	s.waitReady()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("submitter did not finish")
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d kills in %s; %d runs accepted, %d submissions dropped and retried",
		plan.kills, time.Since(began).Round(time.Millisecond), len(accepted), dropped)
	return append([]string(nil), accepted...)
}

// chaosRuns is how many runs the noop chaos test submits.
func chaosRuns(t *testing.T) int {
	v := os.Getenv("BATON_CHAOS_RUNS")
	if v == "" {
		return 300
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("BATON_CHAOS_RUNS=%q: want a whole number of 1 or more", v)
	}
	return n
}

// TestChaos kills the server at random while runs flow in, restarts it
// each time, and checks that every run it accepted ran each of its steps to
// success exactly once.
func TestChaos(t *testing.T) {
	t.Run("noop", func(t *testing.T) {
		s := newServer(t, "127.0.0.1", "noop")
		s.restart()
		s.apply(noopPipeline)
		ids := chaos(t, s, chaosPlan{
			runs: chaosRuns(t), pace: 15 * time.Millisecond,
			kills: 10, minLife: 100 * time.Millisecond, maxLife: 700 * time.Millisecond,
		})
		s.waitAllTerminal(90 * time.Second)
		checkChaos(t, s, ids, expect{steps: []string{"one", "two", "three"}}, nil)
		s.stop()
	})
	t.Run("docker", func(t *testing.T) {
		image := dockertest.BusyboxImage(t)
		cli := dockertest.Client(t)
		var ids []string // every run seen, for cleanup
		removeContainersOf(t, cli, func() []string { return ids })
		s := newServer(t, bridgeHost(t, cli), "docker")
		s.restart()
		s.apply(relayPipeline("chaos", image))
		accepted := chaos(t, s, chaosPlan{
			runs: 12, pace: 250 * time.Millisecond,
			kills: 3, minLife: 300 * time.Millisecond, maxLife: 1500 * time.Millisecond,
			accepted: func(id string) { ids = append(ids, id) },
		})
		s.waitAllTerminal(90 * time.Second)
		for _, r := range s.runs() {
			ids = append(ids, r.ID) // runs stored without a 202 too
		}
		checkChaos(t, s, accepted, relayExpect, func(r *api.Run) []string {
			p := s.logProblems(r, relayLines)
			if left := containersOf(t, cli, r.ID); len(left) > 0 {
				p = append(p, "containers left: "+strings.Join(left, "; "))
			}
			return p
		})
		s.stop()
	})
}

// checkChaos checks every accepted run, and every other run the server
// stored (a submission it died before answering) the same way: each must
// have ended as if no crash had happened. more adds checks of one run.
func checkChaos(t *testing.T, s *server, accepted []string, want expect, more func(*api.Run) []string) {
	t.Helper()
	const shown = 5 // runs reported in full; the rest are counted
	bad := 0
	failed := make(map[string]int) // how attempts that did not succeed ended → how many
	checked := make(map[string]bool, len(accepted))
	check := func(id string) {
		checked[id] = true
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		r, err := s.client.Run(ctx, id)
		cancel()
		var se *api.StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			bad++
			t.Errorf("run %s was accepted (202) but does not exist", id)
			return
		}
		if err != nil {
			t.Fatalf("get run %s: %v", id, err)
		}
		problems := runProblems(r, want)
		if more != nil {
			problems = append(problems, more(r)...)
		}
		for _, st := range r.Steps {
			for _, a := range st.Attempts {
				if a.Status != store.StepSucceeded {
					failed[fmt.Sprintf("%s: %s", a.Status, a.Error)]++
				}
			}
		}
		if len(problems) > 0 {
			bad++
			if bad <= shown {
				reportRun(t, r, problems)
			}
		}
	}
	for _, id := range accepted {
		if !checked[id] {
			check(id)
		}
	}
	unanswered := 0
	for _, r := range s.runs() {
		if !checked[r.ID] {
			unanswered++
			check(r.ID)
		}
	}
	if bad > shown {
		t.Errorf("%d runs wrong in all; %d shown", bad, shown)
	}
	kinds := make([]string, 0, len(failed))
	for why, n := range failed {
		kinds = append(kinds, fmt.Sprintf("%4d × %s", n, why))
	}
	sort.Strings(kinds)
	t.Logf("%d runs checked (%d accepted, %d stored without an answer); attempts that did not succeed:\n%s",
		len(checked), len(checked)-unanswered, unanswered, strings.Join(kinds, "\n"))
}
