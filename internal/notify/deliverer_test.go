package notify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/notify"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// outbox is a real SQLite store with one ended run whose notification
// posts to url.
func outbox(t *testing.T, url string, ended time.Time) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	if _, err := st.RunCreate(ctx, &store.RunCreateParams{ID: "r", Pipeline: "p", Revision: 1, Executor: "noop", Steps: []string{"a"}, Now: ended}); err != nil {
		t.Fatal(err)
	}
	err = st.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r", Status: store.RunSucceeded, Now: ended,
		Notify: []store.Notification{{ID: "dlv-1", RunID: "r", Pipeline: "p", URL: url, Secret: "k", Body: []byte(`{}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func only(t *testing.T, st *sqlite.Store) *store.Notification {
	t.Helper()
	ns, err := st.NotificationList(t.Context(), "r")
	if err != nil || len(ns) != 1 {
		t.Fatalf("NotificationList: %d rows, %v", len(ns), err)
	}
	return ns[0]
}

func key(_ context.Context, name string) ([]byte, error) {
	if name != "k" {
		return nil, store.ErrNotFound
	}
	return []byte("key"), nil
}

func TestDelivererSecretMissing(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	st := outbox(t, srv.URL, t0)
	now := t0
	d := notify.New(notify.Config{Outbox: st, Owner: "a", Now: func() time.Time { return now },
		Secret: func(context.Context, string) ([]byte, error) { return nil, store.ErrNotFound }})
	if n := d.Once(t.Context()); n != 1 {
		t.Fatalf("Once tried %d, want 1", n)
	}
	n := only(t, st)
	if hits.Load() != 0 || n.Status != store.NotificationPending || n.Tries != 1 ||
		!strings.Contains(n.LastError, `secret "k" is not set; set it with 'baton secrets set k'`) {
		t.Fatalf("without its secret: %d requests, row %+v", hits.Load(), n)
	}
	if !n.NextAt.After(t0) || n.NextAt.After(t0.Add(notify.DefaultBackoff)) {
		t.Fatalf("next try at %v, want within the first backoff after %v", n.NextAt, t0)
	}
	if d.Once(t.Context()) != 0 {
		t.Fatal("a row was tried again before its next try was due")
	}
}

func TestDelivererBackoffBoundedAndGivesUpByAge(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	st := outbox(t, srv.URL, t0)
	now := t0
	d := notify.New(notify.Config{Outbox: st, Owner: "a", Secret: key, Now: func() time.Time { return now },
		Backoff: time.Second, MaxDelay: 8 * time.Second, MaxAge: time.Minute, MaxTries: 1000})
	var waits []time.Duration
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("never given up")
		}
		if d.Once(t.Context()) != 1 {
			t.Fatalf("try %d: nothing was due at %v", i+1, now)
		}
		n := only(t, st)
		if n.Status == store.NotificationGaveUp {
			if !strings.Contains(n.LastError, "too old") || !strings.Contains(n.LastError, "500") {
				t.Fatalf("given up with %q", n.LastError)
			}
			break
		}
		waits = append(waits, n.NextAt.Sub(now))
		now = n.NextAt
	}
	for i, w := range waits {
		if w <= 0 || w > 8*time.Second {
			t.Fatalf("wait %d is %v, want above 0 and at most MaxDelay 8s", i+1, w)
		}
	}
	if len(waits) < 4 || waits[3] < 4*time.Second {
		t.Fatalf("waits %v do not grow: want the 4th at least 4s (8s less jitter)", waits)
	}
	if now.Sub(t0) < time.Minute-8*time.Second {
		t.Fatalf("given up at %v, before MaxAge", now.Sub(t0))
	}
}

func TestDelivererShutdownLeavesRowForAnother(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	var answer atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leave
		if answer.Load() {
			return
		}
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	st := outbox(t, srv.URL, t0)
	now := t0
	clock := func() time.Time { return now }
	ctx, cancel := context.WithCancel(t.Context())
	d := notify.New(notify.Config{Outbox: st, Owner: "a", Secret: key, Now: clock, Lease: time.Minute})
	done := make(chan struct{})
	go func() { defer close(done); d.Once(ctx) }()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery never arrived")
	}
	cancel()
	<-done
	if n := only(t, st); n.Status != store.NotificationPending || n.Tries != 0 || n.LeaseOwner != "a" {
		t.Fatalf("after a shutdown mid-try: %+v, want pending, untried, still claimed", n)
	}
	// Once the claim lapses, another server delivers it.
	answer.Store(true)
	now = t0.Add(2 * time.Minute)
	b := notify.New(notify.Config{Outbox: st, Owner: "b", Secret: key, Now: clock})
	if b.Once(t.Context()) != 1 {
		t.Fatal("another server did not take the row over after its claim lapsed")
	}
	if n := only(t, st); n.Status != store.NotificationDelivered || n.Tries != 1 {
		t.Fatalf("delivered by the other server: %+v", n)
	}
}
