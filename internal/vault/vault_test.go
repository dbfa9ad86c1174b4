package vault_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/vault"
)

func TestSetGetRotate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "baton.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	oldKey, newKey := secret.GenerateKey(), secret.GenerateKey()
	v := vault.New(st, secret.NewKeyring(oldKey))
	value := []byte("correct horse battery staple")
	if err := v.Set(ctx, "db_password", value, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "a/b", "-x", "with space"} {
		if err := v.Set(ctx, bad, value, time.Now()); !errors.Is(err, vault.ErrInvalid) {
			t.Errorf("Set(%q): %v, want ErrInvalid", bad, err)
		}
	}
	if err := v.Set(ctx, "empty", nil, time.Now()); !errors.Is(err, vault.ErrInvalid) {
		t.Errorf("empty value: %v, want ErrInvalid", err)
	}
	row, err := st.SecretGet(ctx, "db_password")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(row.Value, value) || row.KeyID != oldKey.ID() {
		t.Fatalf("stored row holds the plaintext or the wrong key id %q", row.KeyID)
	}

	// A new primary key opens old secrets while the old key is in the ring;
	// rotating re-seals them so the old key can go.
	v = vault.New(st, secret.NewKeyring(newKey, oldKey))
	if got, err := v.Get(ctx, "db_password"); err != nil || !bytes.Equal(got, value) {
		t.Fatalf("Get before rotation: %q %v", got, err)
	}
	n, err := v.Rotate(ctx, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("Rotate: %d %v, want 1 re-sealed", n, err)
	}
	if n, err := v.Rotate(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("second Rotate: %d %v, want nothing left", n, err)
	}
	v = vault.New(st, secret.NewKeyring(newKey))
	if got, err := v.Get(ctx, "db_password"); err != nil || !bytes.Equal(got, value) {
		t.Fatalf("Get with only the new key: %q %v", got, err)
	}
	if _, err := v.Get(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing secret: %v, want ErrNotFound", err)
	}
	if err := v.Delete(ctx, "db_password"); err != nil {
		t.Fatal(err)
	}
	// The database file never held the plaintext.
	st.Close()
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, value) {
			t.Errorf("%s holds the plaintext", f)
		}
	}
}
