package crashtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/failpoint"
	"github.com/baton-dev/baton/internal/notify"
	"github.com/baton-dev/baton/internal/store"
)

// hookSecret signs the notifications of the crash test.
const hookSecret = "crash-hook-secret"

// TestNotificationSurvivesKill kills the server with SIGKILL right after a
// run's end and its notification were stored, before anything was
// delivered. The restarted server must deliver it: the receiver sees one
// delivery id, signed, for the run, and the run shows it delivered.
func TestNotificationSurvivesKill(t *testing.T) {
	var (
		mu  sync.Mutex
		ids = map[string]int{}
		bad []string
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		defer mu.Unlock()
		if !notify.Verify([]byte(hookSecret), body, r.Header.Get(notify.HeaderSignature)) {
			bad = append(bad, r.Header.Get(notify.HeaderDelivery))
		}
		ids[r.Header.Get(notify.HeaderDelivery)]++
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()
	deliveries := func() (map[string]int, []string) {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]int, len(ids))
		for k, v := range ids {
			out[k] = v
		}
		return out, append([]string(nil), bad...)
	}

	s := newServer(t, "127.0.0.1", "process")
	s.start(failpoint.NotificationQueued)
	s.waitReady()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client.SetSecret(ctx, "hook_key", []byte(hookSecret)); err != nil {
		t.Fatalf("set secret: %v", err)
	}
	s.apply(`name: notified
notify:
  - {url: "` + recv.URL + `/hook", secret: hook_key}
steps:
  - name: only
    command: ["true"]
`)
	r, err := s.client.Trigger(ctx, "notified", nil)
	if err != nil {
		t.Fatalf("trigger: %v", err)
	}
	s.waitDeath(60*time.Second, "at "+failpoint.NotificationQueued)
	if got, _ := deliveries(); len(got) != 0 {
		t.Fatalf("the receiver had %d deliveries before the server died at %s; the failpoint must come first", len(got), failpoint.NotificationQueued)
	}

	s.restart()
	var run = s.run(r.ID)
	deadline := time.Now().Add(60 * time.Second)
	for len(run.Notifications) != 1 || run.Notifications[0].Status != store.NotificationDelivered {
		if time.Now().After(deadline) {
			t.Fatalf("notification not delivered 60s after the restart: %s", runJSON(run))
		}
		time.Sleep(100 * time.Millisecond)
		run = s.run(r.ID)
	}
	got, unsigned := deliveries()
	if run.Status != store.RunSucceeded || len(got) != 1 || got[run.Notifications[0].ID] < 1 || len(unsigned) != 0 {
		t.Fatalf("after the restart: run %s, deliveries by id %v (want one id, %s), badly signed %v", run.Status, got, run.Notifications[0].ID, unsigned)
	}
	s.stop()
}
