package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
)

func TestPrintNotifications(t *testing.T) {
	t.Parallel()
	next := time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	printNotifications(&b, []api.Notification{
		{ID: "dlv-1", Index: 0, Host: "hooks.example", Status: store.NotificationDelivered, Tries: 2},
		{ID: "dlv-2", Index: 1, Host: "127.0.0.1:9", Status: store.NotificationPending, Tries: 3, NextAt: &next, LastError: "the receiver answered 503\x1b[2J"},
		{ID: "dlv-3", Index: 2, Host: "h", Status: store.NotificationGaveUp, Tries: 20, LastError: "given up after 20 tries: timed out"},
	})
	got := b.String()
	for _, want := range []string{
		"notifications:\n",
		"  0 hooks.example (dlv-1): delivered after 2 tries\n",
		"  1 127.0.0.1:9 (dlv-2): pending, 3 tries failed, next at 2026-12-01T13:00:00Z; the receiver answered 503",
		"  2 h (dlv-3): gave_up after 20 tries; given up after 20 tries: timed out\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("a control character reached the terminal:\n%q", got)
	}
	b.Reset()
	printNotifications(&b, nil)
	if b.Len() != 0 {
		t.Errorf("a run without notifications printed %q", b.String())
	}
}
