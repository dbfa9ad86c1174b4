//go:build azure

package azurequeue

import (
	"encoding/base64"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// TestMessagesStartRuns: each message starts one run of the latest
// revision with its params, is deleted once the run is stored, and the
// run carries the message's key.
func TestMessagesStartRuns(t *testing.T) {
	endpoint := azurite(t)
	q := newTestQueue(t, endpoint)
	env := newTestEnv(t, nil)
	env.startManager(t, endpoint, pipelineFile("ingest", endpoint, q.name, ""))

	msgs := map[string]map[string]string{
		q.put(t, `{"target": "eu"}`): {"target": "eu", "size": "1"},
		q.put(t, base64.StdEncoding.EncodeToString([]byte(`{"target": "us", "size": 3}`))): {"target": "us", "size": "3"},
		q.put(t, `{"target": "ap", "size": true}`):                                         {"target": "ap", "size": "true"},
	}
	waitFor(t, time.Minute, "three runs and an empty queue", func() bool {
		return len(env.runsOf(t, "ingest")) >= 3 && count(t, q.main) == 0
	})
	runs := env.runsOf(t, "ingest")
	if len(runs) != 3 {
		t.Fatalf("%d runs for 3 messages", len(runs))
	}
	trigger := &pipeline.AzureQueue{AccountURL: endpoint, Queue: q.name}
	for id, params := range msgs {
		found, err := env.st.RunList(t.Context(), &store.RunListParams{Key: RunKey(trigger, id)})
		if err != nil || len(found) != 1 {
			t.Fatalf("the run of message %s: %v, %d runs", id, err, len(found))
		}
		if !maps.Equal(found[0].Params, params) || found[0].Revision != 1 {
			t.Errorf("message %s started revision %d with %q, want revision 1 with %q", id, found[0].Revision, found[0].Params, params)
		}
		run, err := env.eng.Wait(t.Context(), found[0].ID)
		if err != nil || run.Status != store.RunSucceeded {
			t.Errorf("run %s of message %s ended %v, %v", found[0].ID, id, run, err)
		}
	}
	if got := env.outcome("ingest", q.name, "started"); got != 3 {
		t.Errorf("counted %d started, want 3", got)
	}
	if n := count(t, q.poison); n != 0 {
		t.Errorf("%d messages in the poison queue", n)
	}
}

// TestPoisonMessages: every kind of message that cannot start a run is
// refused at each delivery and, at its max_dequeue-th, moved to the
// poison queue with its reason and its text, counted, and quoted nowhere.
func TestPoisonMessages(t *testing.T) {
	endpoint := azurite(t)
	q := newTestQueue(t, endpoint)
	env := newTestEnv(t, nil)
	env.startManager(t, endpoint, pipelineFile("ingest", endpoint, q.name, ", max_dequeue: 2"))

	const secret = "S3CRET-PARAM-VALUE"
	cases := map[string]string{ // message → what the reason must say
		`{"target": "` + secret + `"`:         "the message is not valid JSON (it ends too soon)",
		`target=` + secret:                    "the message is not valid JSON (broken at byte 2)",
		`["` + secret + `"]`:                  "the message is a list, not an object",
		`"` + secret + `"`:                    "the message is a string, not an object",
		`17`:                                  "the message is a number, not an object",
		`{"target": {"x": "` + secret + `"}}`: "param target is an object; give a string, a number or a boolean",
		`{"target": null}`:                    "param target is null",
		`{"targte": "` + secret + `"}`:        `unknown param "targte"; did you mean "target"?`,
		`{"size": "2"}`:                       "missing required param target",
		`{"target": "x", "target": "y"}`:      "param target is given twice",
		`{"` + secret + `!": 1}`:              "param 1 of the message has a name that is not a valid param name",
		base64.StdEncoding.EncodeToString([]byte(`["` + secret + `"]`)): "the message is a list, not an object",
	}
	ids := make(map[string]string) // message id → message
	for text := range cases {
		ids[q.put(t, text)] = text
	}
	waitFor(t, 2*time.Minute, "every message in the poison queue", func() bool {
		return count(t, q.poison) >= len(cases) && count(t, q.main) == 0
	})
	got := q.poisoned(t)
	if len(got) != len(cases) {
		t.Fatalf("%d messages in the poison queue, want %d", len(got), len(cases))
	}
	for id, text := range ids {
		p, ok := got[id]
		switch {
		case !ok:
			t.Errorf("message %q is not in the poison queue", text)
		case !strings.Contains(p.Reason, cases[text]):
			t.Errorf("message %q: reason %q, want %q", text, p.Reason, cases[text])
		case strings.Contains(p.Reason, secret):
			t.Errorf("message %q: the reason quotes the message: %q", text, p.Reason)
		case p.Message != text || p.MessageBytes != len(text) || p.DequeueCount != 2 ||
			p.Pipeline != "ingest" || p.Queue != q.name || p.PoisonedAt.IsZero() || p.InsertedAt.IsZero():
			t.Errorf("message %q: poison message %+v", text, p)
		}
	}
	if n := len(env.runsOf(t, "ingest")); n != 0 {
		t.Errorf("%d runs started from refused messages", n)
	}
	if got := env.outcome("ingest", q.name, "poisoned"); got != len(cases) {
		t.Errorf("counted %d poisoned, want %d", got, len(cases))
	}
	if got := env.outcome("ingest", q.name, "refused"); got != len(cases) {
		t.Errorf("counted %d refused (the first delivery of each), want %d", got, len(cases))
	}
	if strings.Contains(env.buf.String(), secret) {
		t.Errorf("the log quotes a refused message:\n%s", env.buf.String())
	}
}

// TestRefusedMessageRetried: a refused message below max_dequeue is tried
// again, against the latest revision: fixing the pipeline lets it start
// its run rather than be poisoned.
func TestRefusedMessageRetried(t *testing.T) {
	endpoint := azurite(t)
	q := newTestQueue(t, endpoint)
	env := newTestEnv(t, nil)
	env.startManager(t, endpoint, pipelineFile("ingest", endpoint, q.name, ", max_dequeue: 100"))
	q.put(t, `{"target": "eu", "region": "north"}`)
	waitFor(t, time.Minute, "the message to be refused", func() bool { return env.outcome("ingest", q.name, "refused") >= 1 })

	fixed := strings.Replace(pipelineFile("ingest", endpoint, q.name, ", max_dequeue: 100"), "params:\n", "params:\n  region: {}\n", 1)
	if _, _, err := env.eng.Apply(t.Context(), "p.yaml", []byte(fixed)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the run of the message", func() bool { return len(env.runsOf(t, "ingest")) == 1 && count(t, q.main) == 0 })
	run := env.runsOf(t, "ingest")[0]
	if run.Revision != 2 || run.Params["region"] != "north" {
		t.Fatalf("the message started revision %d with %q, want revision 2 with region north", run.Revision, run.Params)
	}
	if n := count(t, q.poison); n != 0 {
		t.Fatalf("%d messages in the poison queue", n)
	}
}

// TestRedeliveryStartsNoSecondRun: a message whose run was stored by a
// server that then lost it (died, or failed to delete it) is deleted when
// it comes back, starting nothing, even when the pipeline changed since
// and would refuse it now.
func TestRedeliveryStartsNoSecondRun(t *testing.T) {
	endpoint := azurite(t)
	q := newTestQueue(t, endpoint)
	env := newTestEnv(t, nil)
	file := pipelineFile("ingest", endpoint, q.name, ", max_dequeue: 2")
	if _, _, err := env.eng.Apply(t.Context(), "p.yaml", []byte(file)); err != nil {
		t.Fatal(err)
	}
	id := q.put(t, `{"target": "eu"}`)

	// Another server's life: it receives the message and stores its run,
	// and never deletes the message.
	resp, err := q.main.DequeueMessage(t.Context(), &azqueue.DequeueMessageOptions{VisibilityTimeout: ptr(int32(1))})
	if err != nil || len(resp.Messages) != 1 || *resp.Messages[0].MessageID != id {
		t.Fatalf("receive the message: %v, %+v", err, resp)
	}
	trigger := &pipeline.AzureQueue{AccountURL: endpoint, Queue: q.name}
	first, err := env.eng.Submit(t.Context(), &engine.SubmitParams{Pipeline: "ingest", Params: map[string]string{"target": "eu"}, Key: RunKey(trigger, id)})
	if err != nil {
		t.Fatal(err)
	}
	// The pipeline changes: target is no longer a param.
	changed := strings.Replace(file, "  target: {required: true}\n", "", 1)
	env.startManager(t, endpoint, changed)

	waitFor(t, time.Minute, "the message to be deleted", func() bool { return count(t, q.main) == 0 })
	runs := env.runsOf(t, "ingest")
	if len(runs) != 1 || runs[0].ID != first.ID {
		t.Fatalf("runs %v after the redelivery, want only %s", runs, first.ID)
	}
	if got := env.outcome("ingest", q.name, "duplicate"); got != 1 {
		t.Errorf("counted %d duplicates, want 1", got)
	}
	if n := count(t, q.poison); n != 0 {
		t.Errorf("%d messages in the poison queue", n)
	}
}
