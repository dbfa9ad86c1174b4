//go:build azure

package azurequeue

import (
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// TestReloadFollowsPipelines: applying, changing and deleting pipelines
// starts and stops their consumers; two pipelines never share a queue;
// Stop ends them all and no Reload starts one after it.
func TestReloadFollowsPipelines(t *testing.T) {
	endpoint := azurite(t)
	q1, q2 := newTestQueue(t, endpoint), newTestQueue(t, endpoint)
	env := newTestEnv(t, nil)
	m := env.startManager(t, endpoint)
	reload := func() {
		t.Helper()
		if err := m.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(file string) {
		t.Helper()
		if _, _, err := env.eng.Apply(t.Context(), "p.yaml", []byte(file)); err != nil {
			t.Fatal(err)
		}
		reload()
	}
	if n := m.Running(); n != 0 {
		t.Fatalf("%d consumers without pipelines", n)
	}

	apply(pipelineFile("ingest", endpoint, q1.name, ""))
	if n := m.Running(); n != 1 {
		t.Fatalf("%d consumers for one trigger", n)
	}
	q1.put(t, `{"target": "one"}`)
	waitFor(t, time.Minute, "the run of q1's message", func() bool { return len(env.runsOf(t, "ingest")) == 1 })

	// A revision that keeps the trigger keeps its consumer; one that
	// moves it to q2 replaces it.
	apply(strings.Replace(pipelineFile("ingest", endpoint, q1.name, ""), "name: a", "name: b", 1))
	if n := m.Running(); n != 1 {
		t.Fatalf("%d consumers after a revision that kept the trigger", n)
	}
	if n := strings.Count(env.buf.String(), "queue trigger started"); n != 1 {
		t.Fatalf("%d consumers started, want the first one kept", n)
	}
	apply(pipelineFile("ingest", endpoint, q2.name, ""))
	if n := m.Running(); n != 1 || !strings.Contains(env.buf.String(), `msg="queue trigger stopped" pipeline=ingest queue=`+q1.name) {
		t.Fatalf("%d consumers after moving the trigger, or q1's did not stop:\n%s", n, env.buf.String())
	}
	q2.put(t, `{"target": "two"}`)
	waitFor(t, time.Minute, "the run of q2's message", func() bool { return len(env.runsOf(t, "ingest")) == 2 })

	// A second pipeline on q2 gets no consumer, and says why.
	apply(pipelineFile("other", endpoint, q2.name, ""))
	if n := m.Running(); n != 1 || !strings.Contains(env.buf.String(), "two pipelines read one queue") {
		t.Fatalf("%d consumers with two pipelines on one queue:\n%s", n, env.buf.String())
	}

	for _, name := range []string{"ingest", "other"} {
		if err := env.st.PipelineDelete(t.Context(), &store.PipelineDeleteParams{Name: name, Now: time.Now()}); err != nil {
			// ingest's runs may still be ending.
			for _, r := range env.runsOf(t, name) {
				_, _ = env.eng.Wait(t.Context(), r.ID)
			}
			if err := env.st.PipelineDelete(t.Context(), &store.PipelineDeleteParams{Name: name, Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	reload()
	if n := m.Running(); n != 0 {
		t.Fatalf("%d consumers after deleting the pipelines", n)
	}

	apply(pipelineFile("ingest", endpoint, q1.name, ""))
	if n := m.Running(); n != 1 {
		t.Fatalf("%d consumers after applying again", n)
	}
	m.Stop()
	if n := m.Running(); n != 0 {
		t.Fatalf("%d consumers after Stop", n)
	}
	reload()
	if n := m.Running(); n != 0 {
		t.Fatalf("a Reload after Stop started %d consumers", n)
	}
}

// TestStartRefusals: a trigger that could only sign in with a token over
// plain http does not start, and says what to set.
func TestStartRefusals(t *testing.T) {
	env := newTestEnv(t, nil)
	m := env.startManager(t, "http://127.0.0.1:1/devstoreaccount1",
		pipelineFile("ingest", "http://127.0.0.1:9/other", "jobs", ""))
	if n := m.Running(); n != 0 {
		t.Fatalf("%d consumers for a trigger that cannot sign in", n)
	}
	if !strings.Contains(env.buf.String(), "account_url http://127.0.0.1:9/other is plain http, which Azure takes no token over") {
		t.Fatalf("no reason logged:\n%s", env.buf.String())
	}
}
