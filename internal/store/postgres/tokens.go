package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

const tokenColumns = `name, role, hash, created_at, revoked_at`

// TokenCreate implements [store.Store.TokenCreate]. An empty hash is
// refused: it would match no token's value.
func (s *Store) TokenCreate(ctx context.Context, p *store.TokenCreateParams) (*store.TokenRow, error) {
	if err := store.CheckTokenCreate(p); err != nil {
		return nil, fmt.Errorf("postgres: create token %q: %w", p.Name, err)
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tokens (name, role, hash, created_at)
			VALUES ($1, $2, $3, $4)`, p.Name, p.Role, p.Hash, sqlrow.UnixNano(p.Now))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: create token %q: %w", p.Name, err)
	}
	return sqlrow.NewToken(p), nil
}

// TokenGetByHash implements [store.Store.TokenGetByHash]. Errors do not
// show the hash: it identifies a credential, and errors end up in logs.
func (s *Store) TokenGetByHash(ctx context.Context, hash []byte) (*store.TokenRow, error) {
	if len(hash) == 0 {
		return nil, fmt.Errorf("postgres: token by hash: %w", store.ErrNotFound)
	}
	row, err := queryOne(ctx, s, scanToken, `SELECT `+tokenColumns+` FROM tokens
		WHERE hash = $1`, hash)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: token by hash: %w", err)
	}
	return row, nil
}

// TokenList implements [store.Store.TokenList].
func (s *Store) TokenList(ctx context.Context) ([]*store.TokenRow, error) {
	out, err := queryAll(ctx, s, scanToken, `SELECT `+tokenColumns+` FROM tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list tokens: %w", err)
	}
	return out, nil
}

// TokenRevoke implements [store.Store.TokenRevoke]. The zero time is
// refused: a revocation time of zero means "valid".
func (s *Store) TokenRevoke(ctx context.Context, name string, now time.Time) error {
	if err := store.CheckNow(now); err != nil {
		return fmt.Errorf("postgres: revoke token %q: %w", name, err)
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(name) {
			return store.ErrNotFound
		}
		tag, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1
			WHERE name = $2 AND revoked_at = 0`, sqlrow.UnixNano(now), name)
		if err != nil || affected(tag) {
			return err
		}
		return revokedConflict(ctx, tx, name)
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke token %q: %w", name, err)
	}
	return nil
}

// revokedConflict explains why a token could not be revoked: there is no
// such token, or it was revoked already.
func revokedConflict(ctx context.Context, tx pgx.Tx, name string) error {
	var revoked int64
	err := tx.QueryRow(ctx, `SELECT revoked_at FROM tokens WHERE name = $1`, name).Scan(&revoked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	case revoked == 0: // revoked and restored meanwhile: nothing does that
		return fmt.Errorf("changed while being revoked: %w", store.ErrConflict)
	}
	return store.TokenRevokedError(sqlrow.FromUnixNano(revoked))
}

// TokenRevokeKeeping implements [store.Store.TokenRevokeKeeping]. Revoking
// keeping a role takes that role's lock first, so that two revocations at
// once cannot both count the other's token as the one left.
func (s *Store) TokenRevokeKeeping(ctx context.Context, p *store.TokenRevokeKeepingParams) error {
	if err := store.CheckNow(p.Now); err != nil {
		return fmt.Errorf("postgres: revoke token %q: %w", p.Name, err)
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.Name) {
			return store.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('baton role ' || current_schema() || ' ' || $1, 0))`, p.Keep); err != nil {
			return err
		}
		var role string
		err := tx.QueryRow(ctx, `SELECT role FROM tokens WHERE name = $1 AND revoked_at = 0`, p.Name).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) {
			return revokedConflict(ctx, tx, p.Name)
		}
		if err != nil {
			return err
		}
		if role == p.Keep {
			var others int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM tokens
				WHERE role = $1 AND revoked_at = 0 AND name <> $2`, p.Keep, p.Name).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return store.ErrLastToken
			}
		}
		_, err = tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at = 0`,
			sqlrow.UnixNano(p.Now), p.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: revoke token %q: %w", p.Name, err)
	}
	return nil
}

func scanToken(sc pgx.Row) (*store.TokenRow, error) {
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
