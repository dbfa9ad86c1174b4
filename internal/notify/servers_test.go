package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/notify"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
)

// TestServersShareOutbox runs deliverers of three servers, each with its
// own connection pool, on one PostgreSQL outbox: every notification is
// delivered, and none twice, since a row is claimed by one server at a time.
func TestServersShareOutbox(t *testing.T) {
	t.Parallel()
	rawURL := pgtest.Schema(t)
	open := func() *postgres.Store {
		st, err := postgres.Open(context.Background(), rawURL, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	var (
		mu  sync.Mutex
		got = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get(notify.HeaderDelivery)]++
		mu.Unlock()
	}))
	defer srv.Close()

	first := open()
	const runs, per = 15, 2
	ctx := t.Context()
	for r := range runs {
		id := fmt.Sprintf("r%d", r)
		if _, err := first.RunCreate(ctx, &store.RunCreateParams{ID: id, Pipeline: "p", Revision: 1, Executor: "noop", Steps: []string{"a"}, Now: t0}); err != nil {
			t.Fatal(err)
		}
		var ns []store.Notification
		for i := range per {
			ns = append(ns, store.Notification{ID: fmt.Sprintf("%s-%d", id, i), RunID: id, Pipeline: "p", Index: i, URL: srv.URL, Secret: "k", Body: []byte(`{}`)})
		}
		if err := first.RunSetStatus(ctx, &store.RunSetStatusParams{ID: id, Status: store.RunFailed, Now: t0, Notify: ns}); err != nil {
			t.Fatal(err)
		}
	}
	stores := []*postgres.Store{first, open(), open()}
	var wg sync.WaitGroup
	for i, st := range stores {
		d := notify.New(notify.Config{Outbox: st, Owner: fmt.Sprintf("srv%d", i), Secret: key, Parallel: 2,
			Now: func() time.Time { return t0.Add(time.Second) }})
		wg.Go(func() {
			for d.Once(ctx) > 0 {
			}
		})
	}
	wg.Wait()
	if len(got) != runs*per {
		t.Fatalf("%d of %d notifications delivered", len(got), runs*per)
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("%s delivered %d times", id, n)
		}
	}
	for r := range runs {
		ns, err := first.NotificationList(ctx, fmt.Sprintf("r%d", r))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Status != store.NotificationDelivered || n.Tries != 1 {
				t.Fatalf("%s: %s after %d tries, want delivered after 1", n.ID, n.Status, n.Tries)
			}
		}
	}
}
