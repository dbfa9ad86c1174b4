package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/notify"
	"github.com/baton-dev/baton/internal/store"
)

// hookKey is the value of the secret notifications are signed with; no log,
// error or stored body may hold it.
const hookKey = "hook-key-value-8c1f0e"

// receiver is a local HTTP server that checks each delivery's signature and
// counts deliveries; it answers fail first with 503.
type receiver struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	fail int
	got  []delivery
}

type delivery struct {
	id, signature string
	body          []byte
	summary       notify.Summary
}

func newReceiver(t *testing.T, fail int) *receiver {
	rc := &receiver{t: t, fail: fail}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{id: r.Header.Get(notify.HeaderDelivery), signature: r.Header.Get(notify.HeaderSignature), body: body}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery: %s with content type %q, want a JSON POST", r.Method, r.Header.Get("Content-Type"))
		}
		if !notify.Verify([]byte(hookKey), body, d.signature) {
			t.Errorf("delivery %s: signature %q does not verify", d.id, d.signature)
		}
		if err := json.Unmarshal(body, &d.summary); err != nil {
			t.Errorf("delivery %s: body is not a summary: %v", d.id, err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, d)
		failing := len(rc.got) <= rc.fail
		rc.mu.Unlock()
		if failing {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("receiver-said-this-" + strings.Repeat("x", 10000)))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// deliverer delivers h's outbox with a short backoff, logging into logs.
func (h *harness) deliverer(logs *bytes.Buffer, maxTries int) *notify.Deliverer {
	secrets := func(_ context.Context, name string) ([]byte, error) {
		if name != "hook_key" {
			return nil, store.ErrNotFound
		}
		return []byte(hookKey), nil
	}
	return notify.New(notify.Config{
		Outbox: h.st.(store.Outbox), Secret: secrets, Owner: "test",
		Log:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Counter: h.eng.Metrics().Notifications, Backoff: time.Millisecond, MaxDelay: 5 * time.Millisecond,
		MaxTries: maxTries,
	})
}

// deliverUntil runs d until cond holds, bounded to avoid a hang.
func deliverUntil(t *testing.T, d *notify.Deliverer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("deliveries did not reach the expected state in 30s")
		}
		if d.Once(t.Context()) == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func notifySpec(bb, name, exit string, hooks ...string) string {
	return `
name: ` + name + `
notify:
` + strings.Join(hooks, "") + `steps:
  - name: work
    command: ["` + bb + `", "sh", "-c", "exit ` + exit + `"]
  - name: after
    command: ["` + bb + `", "true"]
`
}

func hook(url, on string) string {
	if on != "" {
		on = ", on: [" + on + "]"
	}
	return "  - {url: \"" + url + "\", secret: hook_key" + on + "}\n"
}

func TestNotifyFailedRunSignedOnce(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	rc := newReceiver(t, 0)
	unlisted := newReceiver(t, 0)
	name := h.apply(notifySpec(bb, "notify-failed", "3",
		hook(rc.srv.URL+"/hook?token=abc", "failed, canceled"), hook(unlisted.srv.URL, "succeeded")))
	r := h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	if len(r.Notifications) != 1 || r.Notifications[0].Status != store.NotificationPending || r.Notifications[0].Index != 0 {
		t.Fatalf("after the run ended: notifications %+v, want one pending, the first entry's", r.Notifications)
	}
	var logs bytes.Buffer
	d := h.deliverer(&logs, 0)
	deliverUntil(t, d, func() bool { return h.detail(r.ID).Notifications[0].Status == store.NotificationDelivered })
	for range 3 {
		d.Once(t.Context()) // nothing is due: a delivered row is not sent again
	}

	got := rc.deliveries()
	if len(got) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", len(got))
	}
	if n := len(unlisted.deliveries()); n != 0 {
		t.Fatalf("the entry for succeeded runs got %d deliveries from a failed run", n)
	}
	s := got[0].summary
	n := h.detail(r.ID).Notifications[0]
	if got[0].id != n.ID || s.Delivery != n.ID || !strings.HasPrefix(n.ID, "dlv-") {
		t.Fatalf("delivery id: header %q, body %q, run shows %q", got[0].id, s.Delivery, n.ID)
	}
	if s.RunID != r.ID || s.Pipeline != name || s.Revision != r.Revision || s.Status != "failed" ||
		!strings.Contains(s.Error, `step "work"`) || s.StartedAt == nil || s.FinishedAt.IsZero() {
		t.Fatalf("summary: %+v", s)
	}
	if len(s.Steps) != 2 || s.Steps[0].Name != "work" || s.Steps[0].Status != "failed" || s.Steps[0].Attempts != 1 ||
		!strings.Contains(s.Steps[0].Error, "3") || s.Steps[1].Name != "after" || s.Steps[1].Status != "skipped" {
		t.Fatalf("summary steps: %+v", s.Steps)
	}
	if n.Tries != 1 || n.LastCode != http.StatusNoContent || n.LastError != "" || n.DeliveredAt == nil || n.Host != strings.TrimPrefix(rc.srv.URL, "http://") {
		t.Fatalf("run's notification after delivery: %+v", n)
	}
	if v := testutil.ToFloat64(h.eng.Metrics().Notifications.WithLabelValues(name, "delivered")); v != 1 {
		t.Fatalf("baton_notifications_total{outcome=delivered} = %v, want 1", v)
	}
	noSecret(t, h, r.ID, logs.String())
}

func TestNotifyRetriedWithOneDeliveryID(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	rc := newReceiver(t, 3)
	name := h.apply(notifySpec(bb, "notify-retry", "0", hook(rc.srv.URL+"/hook", "")))
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	var logs bytes.Buffer
	d := h.deliverer(&logs, 0)
	deliverUntil(t, d, func() bool { return len(rc.deliveries()) >= 1 })
	n := h.detail(r.ID).Notifications[0]
	if n.Status != store.NotificationPending || n.Tries != 1 || n.LastCode != 503 || n.LastError != "the receiver answered 503" || n.NextAt == nil {
		t.Fatalf("after one refused try the run shows %+v", n)
	}
	deliverUntil(t, d, func() bool { return h.detail(r.ID).Notifications[0].Status == store.NotificationDelivered })

	got := rc.deliveries()
	if len(got) != 4 {
		t.Fatalf("receiver got %d deliveries, want 3 refused and 1 accepted", len(got))
	}
	for i, g := range got {
		if g.id != got[0].id || !bytes.Equal(g.body, got[0].body) || g.signature != got[0].signature {
			t.Fatalf("try %d differs from the first: id %q, signature %q", i+1, g.id, g.signature)
		}
	}
	if got[0].summary.Status != "succeeded" {
		t.Fatalf("summary status %q, want succeeded", got[0].summary.Status)
	}
	if n := h.detail(r.ID).Notifications[0]; n.Tries != 4 || n.LastError != "" {
		t.Fatalf("after delivery: %+v", n)
	}
	m := h.eng.Metrics().Notifications
	if f, dl := testutil.ToFloat64(m.WithLabelValues(name, "failed")), testutil.ToFloat64(m.WithLabelValues(name, "delivered")); f != 3 || dl != 1 {
		t.Fatalf("baton_notifications_total: failed %v, delivered %v; want 3 and 1", f, dl)
	}
	if strings.Contains(logs.String(), "receiver-said-this") {
		t.Fatal("the receiver's answer reached the logs")
	}
	noSecret(t, h, r.ID, logs.String())
}

func TestNotifyGivenUpShownOnRun(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	rc := newReceiver(t, 1000)
	name := h.apply(notifySpec(bb, "notify-giveup", "0", hook(rc.srv.URL+"/hook", "succeeded")))
	r := h.run(name, nil)
	var logs bytes.Buffer
	d := h.deliverer(&logs, 3)
	deliverUntil(t, d, func() bool { return h.detail(r.ID).Notifications[0].Status == store.NotificationGaveUp })
	for range 3 {
		d.Once(t.Context())
	}
	if got := len(rc.deliveries()); got != 3 {
		t.Fatalf("receiver got %d tries, want 3 (MaxTries)", got)
	}
	n := h.detail(r.ID).Notifications[0]
	if n.Tries != 3 || n.LastCode != 503 || !strings.Contains(n.LastError, "given up after 3 tries") || n.NextAt != nil {
		t.Fatalf("given up notification shows %+v", n)
	}
	if strings.Contains(n.LastError, "receiver-said-this") {
		t.Fatal("the receiver's answer is echoed in the error")
	}
	if v := testutil.ToFloat64(h.eng.Metrics().Notifications.WithLabelValues(name, "gave_up")); v != 1 {
		t.Fatalf("baton_notifications_total{outcome=gave_up} = %v, want 1", v)
	}
	noSecret(t, h, r.ID, logs.String())
}

func TestNotifyUnlistedStatusSendsNothing(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	rc := newReceiver(t, 0)
	name := h.apply(notifySpec(bb, "notify-unlisted", "0", hook(rc.srv.URL, "failed, canceled")))
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	var logs bytes.Buffer
	d := h.deliverer(&logs, 0)
	for range 5 {
		if n := d.Once(t.Context()); n != 0 {
			t.Fatalf("the deliverer tried %d notifications of a run whose status is not listed", n)
		}
	}
	if len(rc.deliveries()) != 0 || len(h.detail(r.ID).Notifications) != 0 {
		t.Fatalf("a succeeded run notified an entry for failed and canceled: %d deliveries, %+v", len(rc.deliveries()), h.detail(r.ID).Notifications)
	}
}

func TestNotifyCanceledRun(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	rc := newReceiver(t, 0)
	name := h.apply(`
name: notify-cancel
notify:
` + hook(rc.srv.URL, "canceled") + `steps:
  - name: long
    command: ["` + bb + `", "sleep", "60"]
`)
	ctx := context.Background()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return stepByName(t, h.detail(run.ID), "long").Status == store.StepRunning })
	if err := h.eng.Cancel(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	deliverUntil(t, h.deliverer(&logs, 0), func() bool { return len(rc.deliveries()) == 1 })
	s := rc.deliveries()[0].summary
	if s.Status != "canceled" || len(s.Steps) != 1 || s.Steps[0].Status != "canceled" {
		t.Fatalf("summary of a canceled run: %+v", s)
	}
}

// noSecret fails if the signing secret's value is in the logs, the stored
// bodies or the errors of the run's notifications.
func noSecret(t *testing.T, h *harness, runID, logs string) {
	t.Helper()
	rows, err := h.st.(store.Outbox).NotificationList(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range rows {
		if strings.Contains(string(n.Body), hookKey) || strings.Contains(n.LastError, hookKey) {
			t.Fatalf("notification %s holds the secret's value", n.ID)
		}
	}
	if strings.Contains(logs, hookKey) {
		t.Fatal("the logs hold the secret's value")
	}
}
