package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// SecretPut implements [store.Store.SecretPut]. A replaced secret keeps its
// creation time. Errors name the secret, never its value.
func (s *Store) SecretPut(ctx context.Context, p *store.SecretPutParams) error {
	// A nil slice would bind as NULL; the column holds bytes, even none.
	value := p.Value
	if value == nil {
		value = []byte{}
	}
	now := sqlrow.UnixNano(p.Now)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value, key_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET
				value = excluded.value, key_id = excluded.key_id, updated_at = excluded.updated_at`,
			p.Name, value, p.KeyID, now, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put secret %q: %w", p.Name, err)
	}
	return nil
}

// SecretGet implements [store.Store.SecretGet].
func (s *Store) SecretGet(ctx context.Context, name string) (*store.SecretRow, error) {
	row := store.SecretRow{Name: name}
	var created, updated int64
	err := s.r.QueryRowContext(ctx, `SELECT value, key_id, created_at, updated_at FROM secrets
		WHERE name = ?`, name).Scan(&row.Value, &row.KeyID, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, err)
	}
	if row.Value == nil {
		row.Value = []byte{}
	}
	row.CreatedAt = sqlrow.FromUnixNano(created)
	row.UpdatedAt = sqlrow.FromUnixNano(updated)
	return &row, nil
}

// SecretList implements [store.Store.SecretList]. Values are not read at
// all, so a listing cannot leak one.
func (s *Store) SecretList(ctx context.Context) ([]*store.SecretRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, key_id, created_at, updated_at FROM secrets
		ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list secrets: %w", err)
	}
	defer rows.Close()
	var out []*store.SecretRow
	for rows.Next() {
		var (
			row              store.SecretRow
			created, updated int64
		)
		if err := rows.Scan(&row.Name, &row.KeyID, &created, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: list secrets: %w", err)
		}
		row.CreatedAt = sqlrow.FromUnixNano(created)
		row.UpdatedAt = sqlrow.FromUnixNano(updated)
		out = append(out, &row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list secrets: %w", err)
	}
	return out, nil
}

// SecretDelete implements [store.Store.SecretDelete].
func (s *Store) SecretDelete(ctx context.Context, name string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE name = ?`, name)
		if err != nil {
			return err
		}
		ok, err := affected(res)
		if err == nil && !ok {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete secret %q: %w", name, err)
	}
	return nil
}
