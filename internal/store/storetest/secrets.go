package storetest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

func testSecrets(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.SecretGet(ctx, "db")
	wantErr(t, err, store.ErrNotFound, "SecretGet of a missing secret")
	wantErr(t, s.SecretDelete(ctx, "db"), store.ErrNotFound, "SecretDelete of a missing secret")
	list, err := s.SecretList(ctx)
	must(t, err, "SecretList")
	if len(list) != 0 {
		t.Fatalf("SecretList of an empty store: got %d rows", len(list))
	}

	put := func(name string, value []byte, keyID string, sec int) {
		t.Helper()
		must(t, s.SecretPut(ctx, &store.SecretPutParams{Name: name, Value: value, KeyID: keyID, Now: at(sec)}),
			"SecretPut "+name)
	}
	get := func(name string) *store.SecretRow {
		t.Helper()
		row, err := s.SecretGet(ctx, name)
		must(t, err, "SecretGet "+name)
		return row
	}
	put("db", []byte("sealed-1"), "k1", 1)
	put("api", []byte("sealed-a"), "k1", 2)
	row := get("db")
	if row.Name != "db" || string(row.Value) != "sealed-1" || row.KeyID != "k1" {
		t.Fatalf("SecretGet: got %+v", row)
	}
	wantTime(t, row.CreatedAt, at(1), "secret CreatedAt")
	wantTime(t, row.UpdatedAt, at(1), "secret UpdatedAt")

	// Replacing keeps the creation time and changes the rest.
	put("db", []byte("sealed-2"), "k2", 5)
	row = get("db")
	if string(row.Value) != "sealed-2" || row.KeyID != "k2" {
		t.Fatalf("SecretGet after replace: got %+v", row)
	}
	wantTime(t, row.CreatedAt, at(1), "replaced secret CreatedAt")
	wantTime(t, row.UpdatedAt, at(5), "replaced secret UpdatedAt")
	if other := get("api"); string(other.Value) != "sealed-a" {
		t.Fatalf("other secret after replace: got %q", other.Value)
	}

	list, err = s.SecretList(ctx)
	must(t, err, "SecretList")
	if len(list) != 2 || list[0].Name != "api" || list[1].Name != "db" {
		t.Fatalf("SecretList: got %d rows %+v, want api and db by name", len(list), list)
	}
	for _, r := range list {
		if len(r.Value) != 0 {
			t.Fatalf("SecretList row %q carries a value", r.Name)
		}
	}
	if list[1].KeyID != "k2" {
		t.Fatalf("SecretList KeyID: got %q, want k2", list[1].KeyID)
	}
	wantTime(t, list[1].CreatedAt, at(1), "listed CreatedAt")
	wantTime(t, list[1].UpdatedAt, at(5), "listed UpdatedAt")

	must(t, s.SecretDelete(ctx, "db"), "SecretDelete")
	_, err = s.SecretGet(ctx, "db")
	wantErr(t, err, store.ErrNotFound, "SecretGet of a deleted secret")
	wantErr(t, s.SecretDelete(ctx, "db"), store.ErrNotFound, "SecretDelete twice")
	list, err = s.SecretList(ctx)
	must(t, err, "SecretList")
	if len(list) != 1 || list[0].Name != "api" {
		t.Fatalf("SecretList after delete: got %+v", list)
	}

	// A deleted secret put again is new: its creation time is the new one.
	put("db", []byte("sealed-3"), "k2", 9)
	wantTime(t, get("db").CreatedAt, at(9), "re-created secret CreatedAt")
}

// testSecretBytes checks that ciphertext comes back byte for byte: NULs,
// bytes that are not UTF-8, and every byte value.
func testSecretBytes(t *testing.T, s store.Store) {
	ctx := t.Context()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	values := map[string][]byte{
		"nul":        {0},
		"nuls":       {0, 0, 'a', 0},
		"not-utf8":   {0xff, 0xfe, 0xc3, 0x28, 0x80},
		"all-bytes":  all,
		"trailing":   []byte("x\x00"),
		"large":      bytes.Repeat([]byte{0, 0xff, 'z'}, 100_000),
		"whitespace": []byte(" \t\r\n "),
	}
	for name, v := range values {
		must(t, s.SecretPut(ctx, &store.SecretPutParams{Name: name, Value: v, KeyID: "k", Now: t0}), "SecretPut "+name)
	}
	for name, v := range values {
		row, err := s.SecretGet(ctx, name)
		must(t, err, "SecretGet "+name)
		if !bytes.Equal(row.Value, v) {
			t.Fatalf("secret %q: got %d bytes %q, want %d bytes %q", name, len(row.Value), head(row.Value), len(v), head(v))
		}
	}
}

// testSecretErrorsHideValues checks that a failed lookup names the secret
// but carries no value.
func testSecretErrorsHideValues(t *testing.T, s store.Store) {
	ctx := t.Context()
	const value = "s3cr3t-ciphertext"
	must(t, s.SecretPut(ctx, &store.SecretPutParams{Name: "present", Value: []byte(value), Now: t0}), "SecretPut")
	_, err := s.SecretGet(ctx, "absent")
	wantErr(t, err, store.ErrNotFound, "SecretGet of a missing secret")
	if !strings.Contains(err.Error(), "absent") {
		t.Fatalf("SecretGet error %q does not name the secret", err)
	}
	if strings.Contains(err.Error(), value) {
		t.Fatalf("SecretGet error %q shows a value", err)
	}
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}
