package sqlrow

import (
	"cmp"
	"slices"

	"github.com/baton-dev/baton/internal/store"
)

// NotificationTimes are the time columns of a notification as stored.
type NotificationTimes struct {
	NextAt, CreatedAt, DeliveredAt, LeaseUntil int64
}

// Set puts the times into n.
func (t NotificationTimes) Set(n *store.Notification) {
	n.NextAt = FromUnixNano(t.NextAt)
	n.CreatedAt = FromUnixNano(t.CreatedAt)
	n.DeliveredAt = FromUnixNano(t.DeliveredAt)
	n.LeaseUntil = FromUnixNano(t.LeaseUntil)
}

// NotificationRecord is what [store.Outbox.NotificationRecord] writes for
// its params, in column values: a row that is no longer pending is due
// never (next_at 0) and only a delivered one has a delivery time.
type NotificationRecord struct {
	NextAt, DeliveredAt int64
}

// NewNotificationRecord encodes p.
func NewNotificationRecord(p *store.NotificationRecordParams) NotificationRecord {
	var r NotificationRecord
	switch p.Status {
	case store.NotificationPending:
		r.NextAt = UnixNano(p.NextAt)
	case store.NotificationDelivered:
		r.DeliveredAt = UnixNano(p.Now)
	}
	return r
}

// SortNotifications orders claimed rows soonest due first, as the claim
// promises, whatever order the database returned them in.
func SortNotifications(ns []*store.Notification) {
	slices.SortFunc(ns, func(a, b *store.Notification) int {
		if c := a.NextAt.Compare(b.NextAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
