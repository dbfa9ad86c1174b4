package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

var _ store.Outbox = (*Store)(nil)

const notificationColumns = `id, run_id, pipeline, idx, url, secret, body, status, tries, next_at,
	last_code, last_error, created_at, delivered_at, lease_owner, lease_until`

// queueNotifications writes p.Notify into the outbox, in the transaction
// that ends the run at finished.
func queueNotifications(ctx context.Context, tx *sql.Tx, p *store.RunSetStatusParams, finished int64) error {
	if err := store.CheckNotify(p.ID, p.Notify); err != nil {
		return err
	}
	for _, n := range p.Notify {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notifications
			(id, run_id, pipeline, idx, url, secret, body, next_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			n.ID, n.RunID, n.Pipeline, n.Index, n.URL, n.Secret, nonNil(n.Body), finished, finished); err != nil {
			return fmt.Errorf("queue notification %q: %w", n.ID, err)
		}
	}
	return nil
}

// NotificationClaim implements [store.Outbox.NotificationClaim]. SQLite has
// one writer, so one UPDATE both picks and takes the rows.
func (s *Store) NotificationClaim(ctx context.Context, p *store.NotificationClaimParams) ([]*store.Notification, error) {
	now := sqlrow.UnixNano(p.Now)
	var out []*store.Notification
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `UPDATE notifications SET lease_owner = ?, lease_until = ?
			WHERE id IN (SELECT id FROM notifications
				WHERE status = 'pending' AND next_at <= ? AND lease_until <= ?
				ORDER BY next_at, id LIMIT ?)
			RETURNING `+notificationColumns,
			p.Owner, sqlrow.UnixNano(p.Until), now, now, p.Max())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim notifications: %w", err)
	}
	sqlrow.SortNotifications(out)
	return out, nil
}

// NotificationRecord implements [store.Outbox.NotificationRecord].
func (s *Store) NotificationRecord(ctx context.Context, p *store.NotificationRecordParams) error {
	if err := store.CheckNotificationRecord(p); err != nil {
		return fmt.Errorf("sqlite: record notification %q: %w", p.ID, err)
	}
	r := sqlrow.NewNotificationRecord(p)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notifications SET status = ?, tries = tries + 1,
			last_code = ?, last_error = ?, next_at = ?, delivered_at = ?, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ? AND tries = ? AND status = 'pending'`,
			p.Status, p.Code, p.Error, r.NextAt, r.DeliveredAt, p.ID, p.Owner, p.Tries)
		if err != nil {
			return err
		}
		ok, err := affected(res)
		if err != nil || ok {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM notifications WHERE id = ?`, p.ID).Scan(&one)
		if err == sql.ErrNoRows {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("it is not held by %q after %d tries: %w", p.Owner, p.Tries, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("sqlite: record notification %q: %w", p.ID, err)
	}
	return nil
}

// NotificationList implements [store.Outbox.NotificationList].
func (s *Store) NotificationList(ctx context.Context, runID string) ([]*store.Notification, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE run_id = ? ORDER BY idx, id`, runID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list notifications of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []*store.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list notifications of run %q: %w", runID, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list notifications of run %q: %w", runID, err)
	}
	return out, nil
}

func scanNotification(sc scanner) (*store.Notification, error) {
	var (
		n   store.Notification
		raw sqlrow.NotificationTimes
	)
	if err := sc.Scan(&n.ID, &n.RunID, &n.Pipeline, &n.Index, &n.URL, &n.Secret, &n.Body, &n.Status,
		&n.Tries, &raw.NextAt, &n.LastCode, &n.LastError, &raw.CreatedAt, &raw.DeliveredAt,
		&n.LeaseOwner, &raw.LeaseUntil); err != nil {
		return nil, err
	}
	raw.Set(&n)
	return &n, nil
}

// nonNil is b, or an empty slice for nil, for a NOT NULL blob.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
