package azurequeue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// Config is what a [Manager] needs; Engine and Store are required.
type Config struct {
	Engine   *engine.Engine
	Store    store.Store
	Logger   *slog.Logger
	Settings Settings
}

// Manager runs one consumer per azure_queue trigger of every pipeline's
// latest revision; [Manager.Reload] brings the set up to date.
type Manager struct {
	cfg Config
	dev *devAccount
	log *slog.Logger
	az  azureState // what the azure build keeps, such as the credential

	mu      sync.Mutex
	running map[consumerKey]*running
	stopped bool // by Stop: Reload starts nothing more
	// warned are the pipelines already told, in a build without the
	// trigger, that theirs do not run.
	warned map[string]bool
}

// consumerKey names a consumer: a trigger of a pipeline, as configured. A
// trigger whose settings change gets a new consumer.
type consumerKey struct {
	pipeline string
	q        pipeline.AzureQueue
}

type running struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a manager; [Manager.Reload] starts its consumers. It checks
// the settings: a wrong one is an error naming its config key.
func New(cfg Config) (*Manager, error) {
	if cfg.Engine == nil || cfg.Store == nil {
		return nil, errors.New("azurequeue: an engine and a store are required")
	}
	dev, err := cfg.Settings.validate()
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, dev: dev, log: cfg.Logger, running: make(map[consumerKey]*running), warned: make(map[string]bool)}, nil
}

// Reload starts a consumer for every trigger of the pipelines stored now
// that has none, and stops those of triggers that are gone or changed.
// Call it at start and whenever a pipeline is applied or deleted.
//
// Two pipelines reading one queue would each get some of its messages: the
// pipeline whose name sorts first reads it, and the others are logged as
// errors until they change.
func (m *Manager) Reload(ctx context.Context) error {
	rows, err := m.cfg.Store.PipelineList(ctx)
	if err != nil {
		return fmt.Errorf("azurequeue: list pipelines: %w", err)
	}
	want := make(map[consumerKey]bool)
	readers := make(map[string]string) // account/queue → pipeline
	for _, row := range rows {         // by name
		spec, _, err := m.cfg.Engine.Spec(ctx, row.Name, row.Revision)
		if err != nil {
			m.log.Error("queue triggers of a pipeline not loaded", "pipeline", row.Name, "err", err)
			continue
		}
		for _, t := range spec.Triggers {
			q := t.AzureQueue
			if q == nil {
				continue
			}
			source := q.AccountURL + "/" + q.Queue
			if other, taken := readers[source]; taken {
				m.log.Error("two pipelines read one queue; only the first reads it: give each pipeline its own queue",
					"queue", q.Queue, "account_url", q.AccountURL, "reader", other, "pipeline", row.Name)
				continue
			}
			readers[source] = row.Name
			want[consumerKey{row.Name, *q}] = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return nil
	}
	var gone []*running
	for k, r := range m.running {
		if !want[k] {
			gone = append(gone, r)
			delete(m.running, k)
		}
	}
	stopAll(gone)
	if !BuiltIn {
		m.warnMissing(want)
		return nil
	}
	for k := range want {
		if m.running[k] != nil {
			continue
		}
		if err := m.start(k); err != nil {
			m.log.Error("queue trigger not started", "pipeline", k.pipeline, "queue", k.q.Queue, "account_url", k.q.AccountURL, "err", err)
		}
	}
	return nil
}

// start starts the consumer of k; m.mu is held.
func (m *Manager) start(k consumerKey) error {
	q := k.q // the consumer's own copy
	qu, err := m.openQueue(&q)
	if err != nil {
		return err
	}
	c := &consumer{
		pipeline: k.pipeline, q: &q, maxDequeue: m.cfg.Settings.maxDequeue(&q), queue: qu,
		eng: m.cfg.Engine, st: m.cfg.Store, counts: m.cfg.Engine.Metrics().QueueMessages,
		log: m.log.With("pipeline", k.pipeline, "queue", q.Queue, "account_url", q.AccountURL),
		now: time.Now,
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		c.run(ctx)
	}()
	m.running[k] = r
	return nil
}

// warnMissing tells, once per pipeline, that a build without the trigger
// leaves its triggers idle.
func (m *Manager) warnMissing(want map[consumerKey]bool) {
	for k := range want {
		if !m.warned[k.pipeline] {
			m.warned[k.pipeline] = true
			m.log.Warn("pipeline has azure_queue triggers, but this baton was built without them, so they do not run; build one with: go build -tags azure ./cmd/baton",
				"pipeline", k.pipeline)
		}
	}
}

// Running returns how many consumers run now.
func (m *Manager) Running() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.running)
}

// Stop stops every consumer, each once the message in its hands is
// handled; runs already started go on. A Reload after Stop starts
// nothing: the server is going down.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	var all []*running
	for k, r := range m.running {
		all = append(all, r)
		delete(m.running, k)
	}
	stopAll(all)
}

// stopAll stops consumers, all at once rather than one after another.
func stopAll(rs []*running) {
	for _, r := range rs {
		r.cancel()
	}
	for _, r := range rs {
		<-r.done
	}
}
