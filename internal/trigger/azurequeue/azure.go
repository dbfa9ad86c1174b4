//go:build azure

package azurequeue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"github.com/baton-dev/baton/internal/pipeline"
)

// BuiltIn says whether this binary can read Azure Storage queues: it was
// built with -tags azure.
const BuiltIn = true

// Missing returns the trigger kinds this build cannot run: none.
func Missing() map[string]string { return nil }

// azureState is the one Azure credential of a manager, made when the first
// trigger that needs it starts.
type azureState struct {
	mu   sync.Mutex
	cred azcore.TokenCredential
}

// credential returns the manager's Azure credential: azidentity's chain
// of environment, workload identity, managed identity and Azure CLI, so
// baton holds no key of its own.
func (m *Manager) credential() (azcore.TokenCredential, error) {
	m.az.mu.Lock()
	defer m.az.mu.Unlock()
	if m.az.cred != nil {
		return m.az.cred, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credential: %w", err)
	}
	m.az.cred = cred
	return cred, nil
}

// clientOptions bound each request: a few tries, each within a deadline;
// the SDK waits as a 429 or 503 answer's Retry-After asks.
func clientOptions() *azqueue.ClientOptions {
	return &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: 3, TryTimeout: 30 * time.Second, RetryDelay: time.Second, MaxRetryDelay: 30 * time.Second},
		Telemetry: policy.TelemetryOptions{ApplicationID: "baton"},
	}}
}

// openQueue returns the clients of q's queue and poison queue: with the
// dev connection string's shared key when q is its emulator, else with the
// manager's Azure credential, which Azure takes over https only.
func (m *Manager) openQueue(q *pipeline.AzureQueue) (queue, error) {
	mainURL, poisonURL := q.AccountURL+"/"+q.Queue, q.AccountURL+"/"+q.PoisonQueue()
	opts := clientOptions()
	var az azQueue
	if m.dev != nil && m.dev.endpoint == q.AccountURL {
		key, err := azqueue.NewSharedKeyCredential(m.dev.name, m.dev.key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyDevConnectionString, err)
		}
		if az.main, err = azqueue.NewQueueClientWithSharedKeyCredential(mainURL, key, opts); err != nil {
			return nil, err
		}
		if az.poison, err = azqueue.NewQueueClientWithSharedKeyCredential(poisonURL, key, opts); err != nil {
			return nil, err
		}
		return &az, nil
	}
	if !strings.HasPrefix(q.AccountURL, "https://") {
		return nil, fmt.Errorf("account_url %s is plain http, which Azure takes no token over: it is for a storage emulator on this machine, so set %s to the emulator's connection string, with this QueueEndpoint", q.AccountURL, KeyDevConnectionString)
	}
	cred, err := m.credential()
	if err != nil {
		return nil, err
	}
	if az.main, err = azqueue.NewQueueClient(mainURL, cred, opts); err != nil {
		return nil, err
	}
	if az.poison, err = azqueue.NewQueueClient(poisonURL, cred, opts); err != nil {
		return nil, err
	}
	return &az, nil
}

// azQueue is a queue and its poison queue through the SDK.
type azQueue struct {
	main, poison *azqueue.QueueClient
}

func (a *azQueue) Receive(ctx context.Context, n int, visibility time.Duration) ([]*message, error) {
	resp, err := a.main.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
		NumberOfMessages:  ptr(int32(n)),
		VisibilityTimeout: ptr(int32(visibility / time.Second)),
	})
	if err != nil {
		return nil, describe(err)
	}
	out := make([]*message, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		if m == nil || m.MessageID == nil || m.PopReceipt == nil {
			continue // nothing could delete it; it comes back
		}
		msg := &message{ID: *m.MessageID, PopReceipt: *m.PopReceipt}
		if m.MessageText != nil {
			msg.Text = *m.MessageText
		}
		if m.DequeueCount != nil {
			msg.DequeueCount = *m.DequeueCount
		}
		if m.InsertionTime != nil {
			msg.InsertedAt = m.InsertionTime.UTC()
		}
		out = append(out, msg)
	}
	return out, nil
}

func (a *azQueue) Delete(ctx context.Context, m *message) error {
	_, err := a.main.DeleteMessage(ctx, m.ID, m.PopReceipt, nil)
	return describe(err)
}

func (a *azQueue) Release(ctx context.Context, m *message) error {
	_, err := a.main.UpdateMessage(ctx, m.ID, m.PopReceipt, m.Text, &azqueue.UpdateMessageOptions{VisibilityTimeout: ptr(int32(0))})
	return describe(err)
}

// Poison adds body to the poison queue, to stay until someone reads it;
// the queue is made the first time it is missing.
func (a *azQueue) Poison(ctx context.Context, body string) error {
	opts := &azqueue.EnqueueMessageOptions{TimeToLive: ptr(int32(-1))}
	_, err := a.poison.EnqueueMessage(ctx, body, opts)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		if _, err := a.poison.Create(ctx, nil); err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
			return fmt.Errorf("create the poison queue: %w", describe(err))
		}
		_, err = a.poison.EnqueueMessage(ctx, body, opts)
	}
	return describe(err)
}

// describe shortens the SDK's errors, which list the whole response, to
// the status and Azure's error code, with a hint for the usual ones.
func describe(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	hint := ""
	switch queueerror.Code(re.ErrorCode) {
	case queueerror.QueueNotFound:
		hint = "; create the queue, or fix queue: or account_url:"
	case queueerror.AuthorizationPermissionMismatch, queueerror.AuthorizationFailure, queueerror.AuthenticationFailed:
		hint = "; give baton's identity the Storage Queue Data Contributor role on the account or the queues (see docs/azure.md)"
	}
	return fmt.Errorf("azure answered %d %s%s", re.StatusCode, re.ErrorCode, hint)
}

func ptr[T any](v T) *T { return &v }
