// Package vault keeps baton's secrets: sealed with the server's key before
// they reach the store, opened only to hand them to the steps that declare
// them.
package vault

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
)

// MaxValueBytes bounds one secret.
const MaxValueBytes = 64 << 10

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)

// ErrInvalid wraps every rejection of a bad name or value.
var ErrInvalid = errors.New("invalid secret")

// Vault seals and opens secrets in a store.
type Vault struct {
	st   store.Store
	ring *secret.Keyring
}

// New returns a vault over the store's secrets, sealing with ring's primary
// key.
func New(st store.Store, ring *secret.Keyring) *Vault { return &Vault{st: st, ring: ring} }

// CheckName reports whether name may name a secret.
func CheckName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("%w: name %q: use a letter or '_' then up to 127 letters, digits, '_', '.' or '-'", ErrInvalid, name)
	}
	return nil
}

// Set stores a secret, replacing one of the same name.
func (v *Vault) Set(ctx context.Context, name string, value []byte, now time.Time) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if len(value) == 0 || len(value) > MaxValueBytes {
		return fmt.Errorf("%w: %q must hold 1 to %d bytes", ErrInvalid, name, MaxValueBytes)
	}
	sealed, keyID, err := v.ring.Seal(name, value)
	if err != nil {
		return fmt.Errorf("vault: seal %q: %w", name, err)
	}
	return v.st.SecretPut(ctx, &store.SecretPutParams{Name: name, Value: sealed, KeyID: keyID, Now: now})
}

// Get opens a secret.
func (v *Vault) Get(ctx context.Context, name string) ([]byte, error) {
	row, err := v.st.SecretGet(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("vault: secret %q: %w", name, err)
	}
	plain, err := v.ring.Open(name, row.Value)
	if err != nil {
		return nil, fmt.Errorf("vault: open %q: %w", name, err)
	}
	return plain, nil
}

// List returns every secret's name and dates, never values.
func (v *Vault) List(ctx context.Context) ([]*store.SecretRow, error) {
	return v.st.SecretList(ctx)
}

// Delete removes a secret.
func (v *Vault) Delete(ctx context.Context, name string) error {
	if err := v.st.SecretDelete(ctx, name); err != nil {
		return fmt.Errorf("vault: delete %q: %w", name, err)
	}
	return nil
}

// Rotate re-seals with the primary key every secret sealed with an older one,
// and returns how many it re-sealed. Once it returns, old keys may be
// dropped.
func (v *Vault) Rotate(ctx context.Context, now time.Time) (int, error) {
	rows, err := v.st.SecretList(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		full, err := v.st.SecretGet(ctx, r.Name)
		if err != nil {
			return n, fmt.Errorf("vault: rotate %q: %w", r.Name, err)
		}
		if !v.ring.NeedsRotation(full.Value) {
			continue
		}
		plain, err := v.ring.Open(r.Name, full.Value)
		if err != nil {
			return n, fmt.Errorf("vault: rotate %q: %w", r.Name, err)
		}
		if err := v.Set(ctx, r.Name, plain, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
