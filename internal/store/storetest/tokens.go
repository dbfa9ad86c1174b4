package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.TokenGetByHash(ctx, hashOf("nope"))
	wantErr(t, err, store.ErrNotFound, "TokenGetByHash of an unknown hash")
	wantErr(t, s.TokenRevoke(ctx, "ci", at(1)), store.ErrNotFound, "TokenRevoke of a missing token")
	list, err := s.TokenList(ctx)
	must(t, err, "TokenList")
	if len(list) != 0 {
		t.Fatalf("TokenList of an empty store: got %d rows", len(list))
	}

	create := func(name, role, value string, sec int) (*store.TokenRow, error) {
		return s.TokenCreate(ctx, &store.TokenCreateParams{Name: name, Role: role, Hash: hashOf(value), Now: at(sec)})
	}
	tok, err := create("ci", "operator", "v-ci", 1)
	must(t, err, "TokenCreate")
	if tok.Name != "ci" || tok.Role != "operator" || !bytes.Equal(tok.Hash, hashOf("v-ci")) || !tok.RevokedAt.IsZero() {
		t.Fatalf("TokenCreate: got %+v", tok)
	}
	wantTime(t, tok.CreatedAt, at(1), "created token CreatedAt")
	_, err = create("admin", "admin", "v-admin", 2)
	must(t, err, "TokenCreate")

	_, err = create("ci", "viewer", "v-other", 3)
	wantErr(t, err, store.ErrExists, "TokenCreate of a taken name")
	_, err = create("other", "viewer", "v-ci", 3)
	wantErr(t, err, store.ErrExists, "TokenCreate of a taken hash")

	got, err := s.TokenGetByHash(ctx, hashOf("v-ci"))
	must(t, err, "TokenGetByHash")
	if got.Name != "ci" || got.Role != "operator" || !bytes.Equal(got.Hash, hashOf("v-ci")) {
		t.Fatalf("TokenGetByHash: got %+v", got)
	}
	wantTime(t, got.CreatedAt, at(1), "token CreatedAt")
	wantTime(t, got.RevokedAt, time.Time{}, "valid token RevokedAt")

	list, err = s.TokenList(ctx)
	must(t, err, "TokenList")
	if len(list) != 2 || list[0].Name != "admin" || list[1].Name != "ci" {
		t.Fatalf("TokenList: got %+v, want admin and ci by name", list)
	}
	if !bytes.Equal(list[0].Hash, hashOf("v-admin")) || list[0].Role != "admin" {
		t.Fatalf("TokenList row: got %+v", list[0])
	}

	must(t, s.TokenRevoke(ctx, "ci", at(10)), "TokenRevoke")
	wantErr(t, s.TokenRevoke(ctx, "ci", at(11)), store.ErrConflict, "TokenRevoke twice")
	got, err = s.TokenGetByHash(ctx, hashOf("v-ci"))
	must(t, err, "TokenGetByHash of a revoked token")
	wantTime(t, got.RevokedAt, at(10), "revoked token RevokedAt")
	got, err = s.TokenGetByHash(ctx, hashOf("v-admin"))
	must(t, err, "TokenGetByHash")
	wantTime(t, got.RevokedAt, time.Time{}, "other token RevokedAt")

	// A revoked token still holds its name and hash.
	_, err = create("ci", "viewer", "v-new", 12)
	wantErr(t, err, store.ErrExists, "TokenCreate of a revoked token's name")
	_, err = create("new", "viewer", "v-ci", 12)
	wantErr(t, err, store.ErrExists, "TokenCreate of a revoked token's hash")
}

// testTokenHashBytes checks that hashes match byte for byte, NULs included,
// and that a prefix of a hash is not the hash.
func testTokenHashBytes(t *testing.T, s store.Store) {
	ctx := t.Context()
	hash := []byte{0, 0xff, 0, 0x80, 'a', 0}
	_, err := s.TokenCreate(ctx, &store.TokenCreateParams{Name: "t", Role: "viewer", Hash: hash, Now: t0})
	must(t, err, "TokenCreate")
	got, err := s.TokenGetByHash(ctx, hash)
	must(t, err, "TokenGetByHash")
	if !bytes.Equal(got.Hash, hash) {
		t.Fatalf("hash: got %x, want %x", got.Hash, hash)
	}
	for _, h := range [][]byte{hash[:1], hash[:5], append(bytes.Clone(hash), 0), {}} {
		_, err := s.TokenGetByHash(ctx, h)
		wantErr(t, err, store.ErrNotFound, fmt.Sprintf("TokenGetByHash of %x", h))
	}
}

// testTokenCreateRace has callers race to create a token by one name:
// exactly one succeeds, the others get ErrExists.
func testTokenCreateRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 12
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := s.TokenCreate(ctx, &store.TokenCreateParams{Name: "deploy", Role: "operator",
				Hash: hashOf(fmt.Sprint("value-", i)), Now: t0})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrExists):
			t.Fatalf("losing TokenCreate: got %v, want %v", err, store.ErrExists)
		}
	}
	if won != 1 {
		t.Fatalf("TokenCreate raced by %d: %d succeeded, want 1", n, won)
	}
	list, err := s.TokenList(ctx)
	must(t, err, "TokenList")
	if len(list) != 1 {
		t.Fatalf("TokenList after the race: got %d tokens, want 1", len(list))
	}
}
