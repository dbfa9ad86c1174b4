package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/baton-dev/baton/internal/api"

	"github.com/baton-dev/baton/internal/notify"
	"github.com/baton-dev/baton/internal/store"
)

// startDeliverer delivers the store's run notifications until the returned
// stop is called, which waits for the deliverer to end: before the store
// closes. A try cut short by it is tried again, here or by another server.
func startDeliverer(ctx context.Context, l *local) (stop func()) {
	outbox, ok := l.st.(store.Outbox)
	if !ok {
		l.log.Warn("this store keeps no notification outbox; notify: is not delivered")
		return func() {}
	}
	d := notify.New(notify.Config{
		Outbox: outbox, Secret: l.vault.Get, Owner: delivererName(),
		Log: l.log, Counter: l.eng.Metrics().Notifications,
	})
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(dctx) }()
	return func() { cancel(); <-done }
}

// execNotifyWait bounds how long exec, once its run ended, waits for the
// first try of each of the run's notifications: one try may take 30 s.
const execNotifyWait = 45 * time.Second

// deliverNow makes the first try of each of a run's notifications, for
// exec, which has no server running on to deliver them later. What is not
// delivered stays in the outbox: the next server or exec on the data dir
// tries it again.
func deliverNow(ctx context.Context, l *local, runID string) {
	outbox, ok := l.st.(store.Outbox)
	if !ok {
		return
	}
	d := notify.New(notify.Config{
		Outbox: outbox, Secret: l.vault.Get, Owner: delivererName(),
		Log: l.log, Counter: l.eng.Metrics().Notifications,
	})
	ctx, cancel := context.WithTimeout(ctx, execNotifyWait)
	defer cancel()
	for {
		rows, err := outbox.NotificationList(ctx, runID)
		if err != nil || untried(rows) == 0 {
			return
		}
		if d.Once(ctx) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// untried counts the notifications waiting for their first try.
func untried(rows []*store.Notification) int {
	n := 0
	for _, r := range rows {
		if r.Status == store.NotificationPending && r.Tries == 0 {
			n++
		}
	}
	return n
}

// delivererName names this server's claims on notifications: the host, the
// process and a random part, so two servers never share one.
func delivererName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// printNotifications shows how a run's notifications stand, for runs get.
func printNotifications(w io.Writer, ns []api.Notification) {
	if len(ns) == 0 {
		return
	}
	fmt.Fprintln(w, "notifications:")
	for _, n := range ns {
		line := fmt.Sprintf("  %d %s (%s): %s", n.Index, n.Host, n.ID, n.Status)
		switch {
		case n.Status == store.NotificationDelivered && n.Tries > 1:
			line += fmt.Sprintf(" after %d tries", n.Tries)
		case n.Status == store.NotificationPending && n.Tries > 0 && n.NextAt != nil:
			line += fmt.Sprintf(", %d tries failed, next at %s", n.Tries, n.NextAt.UTC().Format(time.RFC3339))
		case n.Status == store.NotificationGaveUp:
			line += fmt.Sprintf(" after %d tries", n.Tries)
		}
		if n.LastError != "" && n.Status != store.NotificationDelivered {
			line += "; " + n.LastError
		}
		fmt.Fprintln(w, api.EscapeControl(line))
	}
}
