package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

const tokenColumns = `name, role, hash, created_at, revoked_at`

// TokenCreate implements [store.Store.TokenCreate]. An empty hash is
// refused: it would match no token's value.
func (s *Store) TokenCreate(ctx context.Context, p *store.TokenCreateParams) (*store.TokenRow, error) {
	if err := store.CheckTokenCreate(p); err != nil {
		return nil, fmt.Errorf("sqlite: create token %q: %w", p.Name, err)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (name, role, hash, created_at)
			VALUES (?, ?, ?, ?)`, p.Name, p.Role, p.Hash, sqlrow.UnixNano(p.Now))
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: create token %q: %w", p.Name, err)
	}
	return sqlrow.NewToken(p), nil
}

// TokenGetByHash implements [store.Store.TokenGetByHash]. Errors do not
// show the hash: it identifies a credential, and errors end up in logs.
func (s *Store) TokenGetByHash(ctx context.Context, hash []byte) (*store.TokenRow, error) {
	if len(hash) == 0 {
		return nil, fmt.Errorf("sqlite: token by hash: %w", store.ErrNotFound)
	}
	row, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens
		WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: token by hash: %w", err)
	}
	return row, nil
}

// TokenList implements [store.Store.TokenList].
func (s *Store) TokenList(ctx context.Context) ([]*store.TokenRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tokens: %w", err)
	}
	defer rows.Close()
	var out []*store.TokenRow
	for rows.Next() {
		row, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list tokens: %w", err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list tokens: %w", err)
	}
	return out, nil
}

// TokenRevoke implements [store.Store.TokenRevoke]. The zero time is
// refused: a revocation time of zero means "valid".
func (s *Store) TokenRevoke(ctx context.Context, name string, now time.Time) error {
	if err := store.CheckNow(now); err != nil {
		return fmt.Errorf("sqlite: revoke token %q: %w", name, err)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ?
			WHERE name = ? AND revoked_at = 0`, sqlrow.UnixNano(now), name)
		if err != nil {
			return err
		}
		ok, err := affected(res)
		if err != nil || ok {
			return err
		}
		var revoked int64
		err = tx.QueryRowContext(ctx, `SELECT revoked_at FROM tokens WHERE name = ?`, name).Scan(&revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		}
		return store.TokenRevokedError(sqlrow.FromUnixNano(revoked))
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke token %q: %w", name, err)
	}
	return nil
}

func scanToken(sc scanner) (*store.TokenRow, error) {
	var (
		row              store.TokenRow
		created, revoked int64
	)
	if err := sc.Scan(&row.Name, &row.Role, &row.Hash, &created, &revoked); err != nil {
		return nil, err
	}
	row.CreatedAt = sqlrow.FromUnixNano(created)
	row.RevokedAt = sqlrow.FromUnixNano(revoked)
	return &row, nil
}
