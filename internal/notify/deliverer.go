package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/baton-dev/baton/internal/store"
)

// Defaults of [Config].
const (
	DefaultPoll     = time.Second
	DefaultLease    = 2 * time.Minute
	DefaultBackoff  = 10 * time.Second
	DefaultMaxDelay = time.Hour
	DefaultMaxTries = 20
	DefaultMaxAge   = 24 * time.Hour
	DefaultParallel = 4
)

// Config says what a [Deliverer] delivers and how. Zero durations and
// counts take the defaults above.
type Config struct {
	Outbox store.Outbox
	// Secret opens a baton secret by name; [store.ErrNotFound] when it is
	// not set.
	Secret func(ctx context.Context, name string) ([]byte, error)
	// Owner names this server in the claims it makes.
	Owner string
	Log   *slog.Logger
	// Counter, when set, counts tries by pipeline and outcome: delivered,
	// failed or gave_up.
	Counter *prometheus.CounterVec
	Now     func() time.Time
	// Poll is how often the outbox is looked at for due rows.
	Poll time.Duration
	// Lease is how long a claim holds a row: a server that dies while
	// delivering leaves the row to another after it.
	Lease time.Duration
	// Backoff is the wait after the first failed try; each further one
	// doubles it, up to MaxDelay, with some jitter.
	Backoff, MaxDelay time.Duration
	// MaxTries and MaxAge bound the tries: once either is reached the
	// notification is given up, and shown so on the run.
	MaxTries int
	MaxAge   time.Duration
	// Parallel is how many deliveries run at once.
	Parallel int
	// Client sends the requests; nil is [NewClient] with its defaults.
	Client *Client
}

// Deliverer claims due notifications and delivers them. Several servers
// sharing a store may each run one: a row is tried by one at a time.
type Deliverer struct {
	cfg Config
}

// New returns a deliverer for cfg, with defaults filled in.
func New(cfg Config) *Deliverer {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	orDefault(&cfg.Poll, DefaultPoll)
	orDefault(&cfg.Lease, DefaultLease)
	orDefault(&cfg.Backoff, DefaultBackoff)
	orDefault(&cfg.MaxDelay, DefaultMaxDelay)
	orDefault(&cfg.MaxAge, DefaultMaxAge)
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = DefaultMaxTries
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(ClientOptions{})
	}
	return &Deliverer{cfg: cfg}
}

func orDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Run delivers until ctx ends; deliveries under way when it does are cut
// short and left to be tried again.
func (d *Deliverer) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		for d.Once(ctx) > 0 && ctx.Err() == nil {
			// A full batch may have more behind it.
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once claims the notifications due now and tries each once, and returns
// how many it tried.
func (d *Deliverer) Once(ctx context.Context) int {
	now := d.cfg.Now()
	rows, err := d.cfg.Outbox.NotificationClaim(ctx, &store.NotificationClaimParams{
		Owner: d.cfg.Owner, Now: now, Until: now.Add(d.cfg.Lease), Limit: d.cfg.Parallel,
	})
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Log.Error("claim notifications", "err", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for _, n := range rows {
		wg.Go(func() { d.try(ctx, n) })
	}
	wg.Wait()
	return len(rows)
}

// try delivers n once and records how it went.
func (d *Deliverer) try(ctx context.Context, n *store.Notification) {
	rec := &store.NotificationRecordParams{ID: n.ID, Owner: d.cfg.Owner, Tries: n.Tries}
	code, err := d.send(ctx, n)
	if ctx.Err() != nil {
		return // shutting down: the claim lapses and the row is tried again
	}
	now := d.cfg.Now()
	rec.Code, rec.Now = code, now
	outcome := "delivered"
	switch {
	case err == nil:
		rec.Status = store.NotificationDelivered
	case n.Tries+1 >= d.cfg.MaxTries || now.Sub(n.CreatedAt) >= d.cfg.MaxAge:
		rec.Status, rec.Error, outcome = store.NotificationGaveUp, giveUp(err, n.Tries+1, d.cfg.MaxTries), "gave_up"
	default:
		rec.Status, rec.Error, outcome = store.NotificationPending, err.Error(), "failed"
		rec.NextAt = now.Add(d.delay(n.Tries + 1))
	}
	if err := d.cfg.Outbox.NotificationRecord(ctx, rec); err != nil {
		// A conflict: the claim lapsed and another server has the row;
		// at least once allows the receiver to see it twice.
		d.cfg.Log.Warn("record notification try", "notification_id", n.ID, "run_id", n.RunID, "err", err)
	}
	if d.cfg.Counter != nil {
		d.cfg.Counter.WithLabelValues(n.Pipeline, outcome).Inc()
	}
	log := d.cfg.Log.With("notification_id", n.ID, "run_id", n.RunID, "try", n.Tries+1, "code", code)
	switch outcome {
	case "delivered":
		log.Info("notification delivered")
	case "gave_up":
		log.Error("notification given up", "err", rec.Error)
	default:
		log.Warn("notification not delivered; will try again", "err", rec.Error, "next_at", rec.NextAt)
	}
}

func giveUp(err error, tries, max int) string {
	if tries >= max {
		return fmt.Sprintf("given up after %d tries: %v", tries, err)
	}
	return fmt.Sprintf("given up after %d tries, the notification being too old: %v", tries, err)
}

// delay is the wait after the tries-th failed try: Backoff doubled each
// time, at most MaxDelay, less up to a fifth at random so servers that
// failed together do not retry together.
func (d *Deliverer) delay(tries int) time.Duration {
	w := d.cfg.Backoff
	for i := 1; i < tries && w < d.cfg.MaxDelay; i++ {
		w *= 2
	}
	w = min(w, d.cfg.MaxDelay)
	return w - time.Duration(rand.Int64N(int64(w)/5+1))
}

// send makes one try: the signed POST of n's body.
func (d *Deliverer) send(ctx context.Context, n *store.Notification) (int, error) {
	key, err := d.cfg.Secret(ctx, n.Secret)
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("secret %q is not set; set it with 'baton secrets set %s'", n.Secret, n.Secret)
	}
	if err != nil {
		return 0, fmt.Errorf("open secret %q: %w", n.Secret, err)
	}
	return d.cfg.Client.Post(ctx, n.URL, n.ID, n.Body, Sign(key, n.Body))
}
