package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/postgres"
	"github.com/baton-dev/baton/internal/store/postgres/pgtest"
)

// TestServersShareStore opens one store from two servers: each sees what
// the other wrote, they never claim one run both, and a server that lost a
// run to the other is fenced off it.
func TestServersShareStore(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Schema(t)
	a, b := open(t, url), open(t, url)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const runs = 40
	for i := range runs {
		s := []*postgres.Store{a, b}[i%2]
		if _, err := s.RunCreate(ctx, &store.RunCreateParams{ID: fmt.Sprintf("r%02d", i), Pipeline: "p", Executor: "noop",
			Steps: []string{"s"}, Now: base.Add(time.Duration(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := b.RunGet(ctx, "r00"); err != nil || got.ID != "r00" {
		t.Fatalf("a run made through one server, read through the other: %+v, %v", got, err)
	}

	var (
		mu    sync.Mutex
		owner = map[string]string{}
		wg    sync.WaitGroup
	)
	for i, s := range []*postgres.Store{a, a, b, b} {
		name := fmt.Sprint("server", i)
		wg.Go(func() {
			for range 20 {
				rows, err := s.RunClaim(ctx, &store.RunClaimParams{Owner: name, Now: base, Until: base.Add(time.Hour), Limit: 3})
				if err != nil {
					t.Errorf("RunClaim %s: %v", name, err)
					return
				}
				mu.Lock()
				for _, r := range rows {
					if prev, ok := owner[r.ID]; ok {
						t.Errorf("run %s claimed by %s and %s", r.ID, prev, name)
					}
					owner[r.ID] = name
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owner) != runs {
		t.Fatalf("%d of %d runs claimed", len(owner), runs)
	}

	held := owner["r00"]
	rows, err := b.RunClaim(ctx, &store.RunClaimParams{Owner: "late", Now: base.Add(2 * time.Hour), Until: base.Add(3 * time.Hour), IDs: []string{"r00"}})
	if err != nil || len(rows) != 1 || rows[0].Lease.Epoch != 2 {
		t.Fatalf("claim of r00 once %s's lease ended: %+v, %v", held, rows, err)
	}
	err = a.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r00", Status: store.RunRunning, Now: base, Epoch: 1})
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("write of the server that lost r00: got %v, want ErrFenced", err)
	}
}

// listen starts s.Listen and returns what it hears; it stops when t ends.
func listen(t *testing.T, s *postgres.Store) (<-chan store.Signal, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	heard := make(chan store.Signal, 100)
	done := make(chan error, 1)
	go func() { done <- s.Listen(ctx, func(sig store.Signal) { heard <- sig }) }()
	t.Cleanup(func() { cancel(); <-done })
	return heard, done
}

// hear sends sig from s until heard has it: LISTEN starts on its own
// connection, some time after Listen is called. Anything else heard but
// repeats of the signals sent before fails t.
func hear(t *testing.T, s *postgres.Store, heard <-chan store.Signal, sent map[store.Signal]bool, sig store.Signal) {
	t.Helper()
	defer func() { sent[sig] = true }()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.Signal(t.Context(), sig); err != nil {
			t.Fatalf("Signal: %v", err)
		}
		select {
		case got := <-heard:
			if got == sig {
				return
			}
			if !sent[got] {
				t.Fatalf("heard %+v, want %+v", got, sig)
			}
		case <-tick.C:
		case <-deadline:
			t.Fatalf("signal %+v not heard in 30 s", sig)
		}
	}
}

// TestSignals: a signal one server sends reaches the others' listeners,
// after a lost connection too, and not those of another schema; what is
// not a signal is dropped.
func TestSignals(t *testing.T) {
	url := pgtest.Schema(t)
	app := schemaOf(t, url)
	a := open(t, url)
	b := open(t, url+"&application_name="+app)
	elsewhere := open(t, pgtest.Schema(t))
	heard, _ := listen(t, b)
	other, _ := listen(t, elsewhere)
	sent := map[store.Signal]bool{}

	hear(t, a, heard, sent, store.Signal{Kind: store.SignalCancel, RunID: "r1"})
	hear(t, a, heard, sent, store.Signal{Kind: store.SignalChanged, RunID: "ラン 2"})
	pgtest.Exec(t, url, `SELECT pg_notify('baton:`+app+`', 'not json')`,
		`SELECT pg_notify('baton:`+app+`', '{"kind":"explode","run":"r1"}')`,
		`SELECT pg_notify('baton:`+app+`', '{"kind":"cancel"}')`)
	hear(t, a, heard, sent, store.Signal{Kind: store.SignalChanged, RunID: "after junk"})

	if n := count(t, pgtest.URL(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '`+app+` listen'`); n != 1 {
		t.Fatalf("%d listening connections to cut, want 1", n)
	}
	hear(t, a, heard, sent, store.Signal{Kind: store.SignalCancel, RunID: "after a lost connection"})
	select {
	case sig := <-other:
		t.Fatalf("a store in another schema heard %+v", sig)
	default:
	}
}

// TestListenEnds: Listen returns nil once its context ends, and once the
// store closes.
func TestListenEnds(t *testing.T) {
	s, err := postgres.Open(t.Context(), pgtest.Schema(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Listen(ctx, func(store.Signal) {}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Listen after its context ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Listen went on after its context ended")
	}
	go func() { done <- s.Listen(t.Context(), func(store.Signal) {}) }()
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Listen after Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Listen went on after the store closed")
	}
	if err := s.Signal(t.Context(), store.Signal{Kind: store.SignalChanged, RunID: "r"}); err == nil {
		t.Fatal("Signal after Close: got no error")
	}
}
