package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

var _ store.Outbox = (*Store)(nil)

const notificationColumns = `id, run_id, pipeline, idx, url, secret, body, status, tries, next_at,
	last_code, last_error, created_at, delivered_at, lease_owner, lease_until`

// queueNotifications writes p.Notify into the outbox, in the transaction
// that ends the run at finished.
func queueNotifications(ctx context.Context, tx pgx.Tx, p *store.RunSetStatusParams, finished int64) error {
	if err := store.CheckNotify(p.ID, p.Notify); err != nil {
		return err
	}
	for _, n := range p.Notify {
		if !storableText(n.URL) || !storableText(n.Pipeline) || !storableText(n.Secret) || !storableText(n.ID) {
			return fmt.Errorf("notification %d holds text PostgreSQL cannot store", n.Index)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO notifications
			(id, run_id, pipeline, idx, url, secret, body, next_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			n.ID, n.RunID, n.Pipeline, n.Index, n.URL, n.Secret, textBytes(string(n.Body)), finished, finished); err != nil {
			return fmt.Errorf("queue notification %q: %w", n.ID, err)
		}
	}
	return nil
}

// NotificationClaim implements [store.Outbox.NotificationClaim]. Rows
// another server is claiming at the same moment are skipped, not waited
// for, so servers sharing the store never take one row twice.
func (s *Store) NotificationClaim(ctx context.Context, p *store.NotificationClaimParams) ([]*store.Notification, error) {
	now := sqlrow.UnixNano(p.Now)
	var out []*store.Notification
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE notifications SET lease_owner = $1, lease_until = $2
			WHERE id IN (SELECT id FROM notifications
				WHERE status = 'pending' AND next_at <= $3 AND lease_until <= $3
				ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
			RETURNING `+notificationColumns,
			p.Owner, sqlrow.UnixNano(p.Until), now, p.Max())
		if err != nil {
			return err
		}
		out, err = collect(rows, scanNotification)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	sqlrow.SortNotifications(out)
	return out, nil
}

// NotificationRecord implements [store.Outbox.NotificationRecord].
func (s *Store) NotificationRecord(ctx context.Context, p *store.NotificationRecordParams) error {
	if err := store.CheckNotificationRecord(p); err != nil {
		return fmt.Errorf("postgres: record notification %q: %w", p.ID, err)
	}
	r := sqlrow.NewNotificationRecord(p)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.ID, p.Owner) {
			return store.ErrNotFound
		}
		tag, err := tx.Exec(ctx, `UPDATE notifications SET status = $1, tries = tries + 1,
			last_code = $2, last_error = $3, next_at = $4, delivered_at = $5, lease_owner = '', lease_until = 0
			WHERE id = $6 AND lease_owner = $7 AND tries = $8 AND status = 'pending'`,
			string(p.Status), p.Code, textBytes(p.Error), r.NextAt, r.DeliveredAt, p.ID, p.Owner, p.Tries)
		if err != nil {
			return err
		}
		if affected(tag) {
			return nil
		}
		var one int
		err = tx.QueryRow(ctx, `SELECT 1 FROM notifications WHERE id = $1`, p.ID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("it is not held by %q after %d tries: %w", p.Owner, p.Tries, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("postgres: record notification %q: %w", p.ID, err)
	}
	return nil
}

// NotificationList implements [store.Outbox.NotificationList].
func (s *Store) NotificationList(ctx context.Context, runID string) ([]*store.Notification, error) {
	if !findable(runID) {
		return nil, nil
	}
	out, err := queryAll(ctx, s, scanNotification, `SELECT `+notificationColumns+` FROM notifications
		WHERE run_id = $1 ORDER BY idx, id`, runID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list notifications of run %q: %w", runID, err)
	}
	return out, nil
}

func scanNotification(sc pgx.Row) (*store.Notification, error) {
	var (
		n       store.Notification
		raw     sqlrow.NotificationTimes
		status  string
		lastErr []byte
	)
	if err := sc.Scan(&n.ID, &n.RunID, &n.Pipeline, &n.Index, &n.URL, &n.Secret, &n.Body, &status,
		&n.Tries, &raw.NextAt, &n.LastCode, &lastErr, &raw.CreatedAt, &raw.DeliveredAt,
		&n.LeaseOwner, &raw.LeaseUntil); err != nil {
		return nil, err
	}
	n.Status = store.NotificationStatus(status)
	n.LastError = string(lastErr)
	raw.Set(&n)
	return &n, nil
}
