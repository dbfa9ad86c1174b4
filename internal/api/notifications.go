package api

import (
	"context"
	"net/url"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// Notification is how one notification of a run (its pipeline's notify:)
// stands. The URL is shown by its host alone: its path may hold a token.
type Notification struct {
	// ID is the delivery id the receiver sees in X-Baton-Delivery.
	ID     string                   `json:"id"`
	Index  int                      `json:"index"`
	Host   string                   `json:"host"`
	Status store.NotificationStatus `json:"status"`
	Tries  int                      `json:"tries"`
	// LastCode is the HTTP status the latest try got; absent when none.
	LastCode    int        `json:"last_code,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	NextAt      *time.Time `json:"next_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// notificationsJSON are a run's notifications; none for a store that keeps
// no outbox.
func notificationsJSON(ctx context.Context, st store.Store, runID string) ([]Notification, error) {
	outbox, ok := st.(store.Outbox)
	if !ok {
		return nil, nil
	}
	rows, err := outbox.NotificationList(ctx, runID)
	if err != nil {
		return nil, err
	}
	var out []Notification
	for _, n := range rows {
		v := Notification{
			ID: n.ID, Index: n.Index, Status: n.Status, Tries: n.Tries,
			LastCode: n.LastCode, LastError: n.LastError, CreatedAt: n.CreatedAt,
			DeliveredAt: timePtr(n.DeliveredAt),
		}
		if u, err := url.Parse(n.URL); err == nil {
			v.Host = u.Host
		}
		if n.Status == store.NotificationPending {
			v.NextAt = timePtr(n.NextAt)
		}
		out = append(out, v)
	}
	return out, nil
}
