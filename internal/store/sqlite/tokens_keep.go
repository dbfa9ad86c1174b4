package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// TokenRevokeKeeping implements [store.Store.TokenRevokeKeeping]. The count
// of the role's other unrevoked tokens and the revocation run in the one
// write transaction, so two revocations at once cannot both pass it.
func (s *Store) TokenRevokeKeeping(ctx context.Context, p *store.TokenRevokeKeepingParams) error {
	if err := store.CheckNow(p.Now); err != nil {
		return fmt.Errorf("sqlite: revoke token %q: %w", p.Name, err)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var (
			role    string
			revoked int64
		)
		err := tx.QueryRowContext(ctx, `SELECT role, revoked_at FROM tokens WHERE name = ?`, p.Name).Scan(&role, &revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case revoked != 0:
			return store.TokenRevokedError(sqlrow.FromUnixNano(revoked))
		}
		if role == p.Keep {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tokens
				WHERE role = ? AND revoked_at = 0 AND name <> ?`, p.Keep, p.Name).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return store.ErrLastToken
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at = 0`,
			sqlrow.UnixNano(p.Now), p.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke token %q: %w", p.Name, err)
	}
	return nil
}
