//go:build azure

package azurequeue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Azurite's well-known development account, public in its documentation;
// it opens nothing but an emulator.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azurite returns the endpoint of the Azurite Queue service that
// .ci/azurite-up started. Without one the test skips, unless
// BATON_TEST_AZURITE=1 (CI), where it fails: a green run means it ran.
func azurite(t *testing.T) string {
	t.Helper()
	endpoint := os.Getenv("BATON_TEST_AZURITE_QUEUE")
	if endpoint == "" {
		const why = "BATON_TEST_AZURITE_QUEUE is not set; start Azurite with .ci/azurite-up and export what it prints"
		if os.Getenv("BATON_TEST_AZURITE") == "1" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	return endpoint
}

// devConnectionString is Azurite's connection string for endpoint.
func devConnectionString(endpoint string) string {
	return "DefaultEndpointsProtocol=http;AccountName=" + azuriteAccount + ";AccountKey=" + azuriteKey + ";QueueEndpoint=" + endpoint
}

// testQueue is a queue of its own for one test, and its poison queue; both
// are deleted when the test ends.
type testQueue struct {
	name         string
	main, poison *azqueue.QueueClient
}

func newTestQueue(t *testing.T, endpoint string) *testQueue {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "t" + hex.EncodeToString(b)
	key, err := azqueue.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	if err != nil {
		t.Fatal(err)
	}
	q := &testQueue{name: name}
	if q.main, err = azqueue.NewQueueClientWithSharedKeyCredential(endpoint+"/"+name, key, nil); err != nil {
		t.Fatal(err)
	}
	if q.poison, err = azqueue.NewQueueClientWithSharedKeyCredential(endpoint+"/"+name+"-poison", key, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := q.main.Create(ctx, nil); err != nil {
		t.Fatalf("create queue %s in Azurite: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = q.main.Delete(ctx, nil)
		_, _ = q.poison.Delete(ctx, nil)
	})
	return q
}

// put enqueues text and returns the message's id.
func (q *testQueue) put(t *testing.T, text string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := q.main.EnqueueMessage(ctx, text, nil)
	if err != nil || len(resp.Messages) != 1 || resp.Messages[0].MessageID == nil {
		t.Fatalf("enqueue: %v (%+v)", err, resp)
	}
	return *resp.Messages[0].MessageID
}

// count returns how many messages c holds, hidden ones included; 0 for a
// queue that does not exist.
func count(t *testing.T, c *azqueue.QueueClient) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	props, err := c.GetProperties(ctx, nil)
	if err != nil {
		if strings.Contains(err.Error(), "QueueNotFound") {
			return 0
		}
		t.Fatalf("queue properties: %v", err)
	}
	if props.ApproximateMessagesCount == nil {
		return 0
	}
	return int(*props.ApproximateMessagesCount)
}

// poisoned reads every message of the poison queue, by the id of the
// message it holds.
func (q *testQueue) poisoned(t *testing.T) map[string]Poisoned {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := q.poison.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: ptr(int32(32))})
	if err != nil {
		t.Fatalf("peek the poison queue: %v", err)
	}
	out := make(map[string]Poisoned)
	for _, m := range resp.Messages {
		var p Poisoned
		if err := json.Unmarshal([]byte(*m.MessageText), &p); err != nil {
			t.Fatalf("poison message %q is not JSON: %v", *m.MessageText, err)
		}
		if _, dup := out[p.MessageID]; dup {
			t.Fatalf("message %s is twice in the poison queue", p.MessageID)
		}
		out[p.MessageID] = p
	}
	return out
}

// waitFor polls cond until it holds; the bound only keeps a broken test
// from hanging.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %s for %s", bound, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// outcomes returns the queue trigger's counts of env's engine for q.
func (env *testEnv) outcome(pipeline, queue, outcome string) int {
	return int(testutil.ToFloat64(env.eng.Metrics().QueueMessages.WithLabelValues(pipeline, queue, outcome)))
}

// pipelineFile is a pipeline reading q at endpoint, with the trigger
// fields extra adds.
func pipelineFile(name, endpoint, queue, extra string) string {
	return fmt.Sprintf(`name: %s
params:
  target: {required: true}
  size: {default: "1"}
steps:
  - {name: a, command: [a]}
triggers:
  - azure_queue: {account_url: %q, queue: %s, visibility_timeout: 1s, max_poll_interval: 1s%s}
`, name, endpoint, queue, extra)
}

// startManager applies the pipeline files and starts a manager on env
// that reads Azurite's queues; it stops when the test ends.
func (env *testEnv) startManager(t *testing.T, endpoint string, files ...string) *Manager {
	t.Helper()
	for _, f := range files {
		if _, _, err := env.eng.Apply(t.Context(), "p.yaml", []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := New(Config{Engine: env.eng, Store: env.st, Logger: env.log, Settings: Settings{DevConnectionString: devConnectionString(endpoint)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	if err := m.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	return m
}
