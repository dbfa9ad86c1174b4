package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
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
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO secrets (name, value, key_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name) DO UPDATE SET
				value = excluded.value, key_id = excluded.key_id, updated_at = excluded.updated_at`,
			p.Name, value, p.KeyID, now, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: put secret %q: %w", p.Name, err)
	}
	return nil
}

// SecretGet implements [store.Store.SecretGet].
func (s *Store) SecretGet(ctx context.Context, name string) (*store.SecretRow, error) {
	row := store.SecretRow{Name: name}
	var (
		created, updated int64
		err              = pgx.ErrNoRows
	)
	if findable(name) {
		err = s.read(ctx, func() error {
			return s.pool.QueryRow(ctx, `SELECT value, key_id, created_at, updated_at FROM secrets
				WHERE name = $1`, name).Scan(&row.Value, &row.KeyID, &created, &updated)
		})
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, err)
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
	out, err := queryAll(ctx, s, func(sc pgx.Row) (*store.SecretRow, error) {
		var (
			row              store.SecretRow
			created, updated int64
		)
		if err := sc.Scan(&row.Name, &row.KeyID, &created, &updated); err != nil {
			return nil, err
		}
		row.CreatedAt = sqlrow.FromUnixNano(created)
		row.UpdatedAt = sqlrow.FromUnixNano(updated)
		return &row, nil
	}, `SELECT name, key_id, created_at, updated_at FROM secrets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list secrets: %w", err)
	}
	return out, nil
}

// SecretDelete implements [store.Store.SecretDelete].
func (s *Store) SecretDelete(ctx context.Context, name string) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(name) {
			return store.ErrNotFound
		}
		tag, err := tx.Exec(ctx, `DELETE FROM secrets WHERE name = $1`, name)
		if err == nil && !affected(tag) {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete secret %q: %w", name, err)
	}
	return nil
}
