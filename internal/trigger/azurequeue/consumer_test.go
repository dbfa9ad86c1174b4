//go:build azure

package azurequeue

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/baton-dev/baton/internal/pipeline"
)

// stopAfterFirst is the real queue, with the consumer's context canceled
// once the first message is deleted: a stop in the middle of a batch.
type stopAfterFirst struct {
	queue
	stop context.CancelFunc
}

func (s *stopAfterFirst) Delete(ctx context.Context, m *message) error {
	defer s.stop()
	return s.queue.Delete(ctx, m)
}

// TestStopReleasesBatch: a consumer stopped in the middle of a batch
// finishes the message in hand and makes the rest visible again at once,
// rather than after their visibility timeout.
func TestStopReleasesBatch(t *testing.T) {
	endpoint := azurite(t)
	q := newTestQueue(t, endpoint)
	env := newTestEnv(t, nil)
	m := env.startManager(t, endpoint, pipelineFile("ingest", endpoint, q.name, ""))
	m.Stop() // the consumer below is driven by hand

	trigger := &pipeline.AzureQueue{AccountURL: endpoint, Queue: q.name, VisibilityTimeout: time.Hour, MaxPollInterval: time.Second}
	real, err := m.openQueue(trigger)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"a", "b", "c"} {
		q.put(t, `{"target": "`+target+`"}`)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := &consumer{
		pipeline: "ingest", q: trigger, maxDequeue: 5, queue: &stopAfterFirst{queue: real, stop: cancel},
		eng: env.eng, st: env.st, counts: env.eng.Metrics().QueueMessages, log: env.log, now: time.Now,
	}
	done := make(chan struct{})
	go func() { defer close(done); c.run(ctx) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the consumer did not stop")
	}
	if runs := env.runsOf(t, "ingest"); len(runs) != 1 {
		t.Fatalf("%d runs, want the one of the message in hand", len(runs))
	}
	// Received for an hour, yet visible now: released.
	peek, err := q.main.PeekMessages(t.Context(), &azqueue.PeekMessagesOptions{NumberOfMessages: ptr(int32(32))})
	if err != nil {
		t.Fatal(err)
	}
	if len(peek.Messages) != 2 {
		t.Fatalf("%d messages visible after the stop, want the 2 not handled", len(peek.Messages))
	}
}
