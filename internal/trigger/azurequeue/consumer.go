package azurequeue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// message is one received message, as a consumer needs it.
type message struct {
	ID         string
	PopReceipt string
	Text       string
	// DequeueCount is how many times the message was received, this time
	// included.
	DequeueCount int64
	InsertedAt   time.Time
}

// queue is what a consumer does with its queue and the poison queue; the
// azure build implements it with the SDK (see azure.go).
type queue interface {
	// Receive takes up to n visible messages, hiding each for
	// visibility.
	Receive(ctx context.Context, n int, visibility time.Duration) ([]*message, error)
	// Delete removes a received message.
	Delete(ctx context.Context, m *message) error
	// Release makes a received message visible again at once.
	Release(ctx context.Context, m *message) error
	// Poison adds a message to the poison queue, creating it if need be.
	Poison(ctx context.Context, body string) error
}

// Bounds of a consumer's work.
const (
	// batchSize is how many messages one receive takes; Azure allows 32.
	// Fewer keep the last of a batch from waiting long on the first.
	batchSize = 16
	// minPoll is the first wait after a receive found the queue empty or
	// failed; each further one doubles, up to the trigger's
	// max_poll_interval.
	minPoll = 500 * time.Millisecond
	// handleTimeout bounds the handling of one message, so that stopping
	// waits for at most that long.
	handleTimeout = 30 * time.Second
	// maxReason bounds a refusal's text in logs and poison messages.
	maxReason = 1 << 10
)

// consumer receives the messages of one trigger's queue and starts a run
// of its pipeline for each.
type consumer struct {
	pipeline   string
	q          *pipeline.AzureQueue
	maxDequeue int
	queue      queue
	eng        *engine.Engine
	st         store.Store
	counts     *prometheus.CounterVec // by pipeline, queue, outcome
	log        *slog.Logger
	now        func() time.Time
}

// run receives and handles messages until ctx ends. A message in hand
// when ctx ends is handled to its end; those received with it and not yet
// handled are made visible again for another receiver.
func (c *consumer) run(ctx context.Context) {
	c.log.Info("queue trigger started", "max_dequeue", c.maxDequeue, "visibility_timeout", c.q.VisibilityTimeout)
	defer c.log.Info("queue trigger stopped")
	var wait time.Duration
	var lastErr string
	for {
		if wait > 0 && !sleep(ctx, jitter(wait)) {
			return
		}
		msgs, err := c.queue.Receive(ctx, batchSize, c.q.VisibilityTimeout)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// The same failure again is logged quietly: a missing queue
			// or role would fill the log at every poll.
			level := slog.LevelError
			if err.Error() == lastErr {
				level = slog.LevelDebug
			}
			c.log.Log(ctx, level, "cannot receive from the queue; trying again", "retry_in", c.backoff(wait), "err", err)
			lastErr = err.Error()
			wait = c.backoff(wait)
			continue
		}
		if lastErr != "" {
			c.log.Info("the queue answers again")
			lastErr = ""
		}
		if len(msgs) == 0 {
			wait = c.backoff(wait)
			continue
		}
		wait = 0
		for i, m := range msgs {
			if ctx.Err() != nil {
				c.release(ctx, msgs[i:])
				return
			}
			c.handle(ctx, m)
		}
	}
}

// backoff is the wait after wait when the queue was empty or failed.
func (c *consumer) backoff(wait time.Duration) time.Duration {
	return min(max(2*wait, minPoll), c.q.MaxPollInterval)
}

// jitter spreads d by up to a tenth either way, so that the servers
// sharing a queue do not poll in step.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// release makes messages received but not handled visible again, so a
// stopping server does not hold them for their visibility timeout.
func (c *consumer) release(ctx context.Context, msgs []*message) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, m := range msgs {
		if err := c.queue.Release(rctx, m); err != nil {
			c.log.Warn("message not released; it is received again after its visibility timeout", "message_id", m.ID, "err", err)
		}
	}
}

// handle starts the run of one message, and deletes the message once the
// run is stored, or moves it to the poison queue once it was refused
// max_dequeue times. Whatever fails is left for the message's next
// delivery, which starts no second run.
func (c *consumer) handle(ctx context.Context, m *message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handleTimeout)
	defer cancel()
	log := c.log.With("message_id", m.ID, "dequeue_count", m.DequeueCount)
	run, err := c.start(ctx, m)
	var refusal *Refusal
	switch {
	case run != nil:
		outcome := "started"
		if errors.Is(err, store.ErrExists) {
			outcome = "duplicate"
		} else if err != nil {
			log.Warn("run stored but not started; it starts when the server next resumes runs", "run_id", run.ID, "err", err)
		}
		if err := c.queue.Delete(ctx, m); err != nil {
			log.Warn("run stored, message not deleted: it is received again and then deleted, starting no second run", "run_id", run.ID, "err", err)
		}
		c.count(outcome)
		if outcome == "duplicate" {
			log.Info("message seen again; its run exists", "run_id", run.ID)
		} else {
			log.Info("queue message started a run", "run_id", run.ID)
		}
	case errors.As(err, &refusal) && m.DequeueCount >= int64(c.maxDequeue):
		if err := c.poison(ctx, m, refusal.Reason); err != nil {
			c.count("failed")
			log.Error("message not moved to the poison queue; trying again at its next delivery", "reason", refusal.Reason, "err", err)
			return
		}
		c.count("poisoned")
		log.Warn("message moved to the poison queue", "poison_queue", c.q.PoisonQueue(), "reason", refusal.Reason)
	case errors.As(err, &refusal):
		c.count("refused")
		log.Warn("message cannot start a run; it is tried again after its visibility timeout, and moved to the poison queue at max_dequeue",
			"reason", refusal.Reason, "max_dequeue", c.maxDequeue)
	default:
		c.count("failed")
		log.Error("message not handled; it is tried again after its visibility timeout", "err", err)
	}
}

// start returns the run of message m: a new one, or with an error that
// is a [store.ErrExists] the one it started before. A message that cannot
// start a run is a [*Refusal].
func (c *consumer) start(ctx context.Context, m *message) (*store.RunRow, error) {
	key := RunKey(c.q, m.ID)
	if m.DequeueCount > 1 {
		// Seen before: its run may exist, stored by a server that died
		// or failed to delete the message. Look before judging it, since
		// the pipeline may have changed since and refuse it now.
		runs, err := c.st.RunList(ctx, &store.RunListParams{Key: key, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("look for the message's run: %w", err)
		}
		if len(runs) > 0 {
			return runs[0], &store.RunKeyExistsError{Key: key, Run: runs[0]}
		}
	}
	params, err := ParseMessage(m.Text)
	if err != nil {
		return nil, err
	}
	spec, rev, err := c.eng.Spec(ctx, c.pipeline, 0)
	if err != nil {
		return nil, err
	}
	if _, err := spec.ResolveParams(params); err != nil {
		return nil, &Refusal{Reason: cut(err.Error())}
	}
	run, err := c.eng.Submit(ctx, &engine.SubmitParams{Pipeline: c.pipeline, Revision: rev, Params: params, Key: key})
	if run == nil && errors.Is(err, engine.ErrInvalid) {
		return nil, &Refusal{Reason: cut(strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))}
	}
	return run, err
}

// poison moves m to the poison queue: a copy there first, then the
// delete, so a failure between the two leaves the message in both queues
// rather than in neither.
func (c *consumer) poison(ctx context.Context, m *message, reason string) error {
	body := poisonBody(Poisoned{
		Reason: reason, Pipeline: c.pipeline, Queue: c.q.Queue, MessageID: m.ID,
		DequeueCount: m.DequeueCount, InsertedAt: m.InsertedAt, PoisonedAt: c.now().UTC(),
		Message: m.Text,
	})
	if err := c.queue.Poison(ctx, body); err != nil {
		return fmt.Errorf("put into %s: %w", c.q.PoisonQueue(), err)
	}
	if err := c.queue.Delete(ctx, m); err != nil {
		return fmt.Errorf("delete after the copy into %s: %w", c.q.PoisonQueue(), err)
	}
	return nil
}

func (c *consumer) count(outcome string) {
	c.counts.WithLabelValues(c.pipeline, c.q.Queue, outcome).Inc()
}

// cut bounds a reason's length.
func cut(reason string) string {
	if len(reason) <= maxReason {
		return reason
	}
	i := maxReason
	for i > 0 && reason[i]&0xc0 == 0x80 {
		i--
	}
	return reason[:i] + "..."
}
