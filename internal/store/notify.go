package store

import (
	"context"
	"fmt"
	"time"
)

// NotificationStatus is where one delivery of a run's notification stands.
type NotificationStatus string

// Notification statuses. A notification is pending until it is delivered or
// given up.
const (
	NotificationPending   NotificationStatus = "pending"
	NotificationDelivered NotificationStatus = "delivered"
	NotificationGaveUp    NotificationStatus = "gave_up"
)

// Notification is one row of the outbox: a POST to make once a run ended,
// written in the transaction that ended it (see [RunSetStatusParams.Notify])
// and delivered at least once by whoever claims it.
type Notification struct {
	// ID is the delivery id, unique among notifications, which the
	// receiver may deduplicate on: every try of one row sends it.
	ID       string
	RunID    string
	Pipeline string
	// Index is the notification's place in the pipeline's notify: list.
	Index int
	URL   string
	// Secret names the baton secret the body is signed with; the value is
	// never stored here.
	Secret string
	// Body is the exact JSON sent on every try.
	Body   []byte
	Status NotificationStatus
	// Tries is how many deliveries were tried so far.
	Tries int
	// NextAt is when the next try is due, while pending.
	NextAt time.Time
	// LastCode is the HTTP status of the latest try; 0 when it got none.
	LastCode int
	// LastError says why the latest try failed; "" after a success.
	LastError   string
	CreatedAt   time.Time
	DeliveredAt time.Time // zero until delivered
	// Lease says who is trying it now; see [Outbox.NotificationClaim].
	LeaseOwner string
	LeaseUntil time.Time
}

// Outbox is the durable queue of run notifications. Both stores implement
// it next to [Store]; rows enter it only through [Store.RunSetStatus].
type Outbox interface {
	// NotificationClaim takes, for p.Owner until p.Until, at most p.Limit
	// pending notifications due at p.Now whose lease has ended, soonest due
	// first. Servers sharing a store never claim one row at once.
	NotificationClaim(ctx context.Context, p *NotificationClaimParams) ([]*Notification, error)
	// NotificationRecord records how one try of a claimed notification
	// went and ends the claim. It is ErrConflict unless p.Owner still holds
	// the row and p.Tries tries were recorded before it, and
	// ErrNotFound when there is no such row.
	NotificationRecord(ctx context.Context, p *NotificationRecordParams) error
	// NotificationList returns a run's notifications in notify: order.
	NotificationList(ctx context.Context, runID string) ([]*Notification, error)
}

// NotificationClaimParams are the arguments of [Outbox.NotificationClaim].
type NotificationClaimParams struct {
	Owner string
	Now   time.Time
	Until time.Time
	Limit int // 0 means 50
}

// Max is the number of rows a claim takes at most.
func (p *NotificationClaimParams) Max() int {
	if p.Limit <= 0 {
		return 50
	}
	return p.Limit
}

// NotificationRecordParams are the arguments of [Outbox.NotificationRecord].
type NotificationRecordParams struct {
	ID    string
	Owner string
	// Tries is how many tries were recorded before this one, as claimed.
	Tries int
	// Status is pending for a try to repeat at NextAt, delivered or
	// gave_up.
	Status NotificationStatus
	Code   int
	Error  string
	NextAt time.Time
	Now    time.Time
}

// CheckNotify refuses notifications the outbox cannot hold: one without an
// id, run or URL, or an id given twice.
func CheckNotify(runID string, ns []Notification) error {
	seen := make(map[string]bool, len(ns))
	for i, n := range ns {
		switch {
		case n.ID == "":
			return fmt.Errorf("notification %d has no id", i)
		case n.RunID != runID:
			return fmt.Errorf("notification %q is for run %q", n.ID, n.RunID)
		case n.URL == "":
			return fmt.Errorf("notification %q has no url", n.ID)
		case seen[n.ID]:
			return fmt.Errorf("notification %q given twice", n.ID)
		}
		seen[n.ID] = true
	}
	return nil
}

// CheckNotificationRecord refuses a status that is none of the
// [NotificationStatus] values.
func CheckNotificationRecord(p *NotificationRecordParams) error {
	switch p.Status {
	case NotificationPending, NotificationDelivered, NotificationGaveUp:
		return nil
	}
	return fmt.Errorf("unknown notification status %q", p.Status)
}
