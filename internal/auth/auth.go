// Package auth decides who may call baton's API: bearer tokens with a role,
// stored only as hashes and compared in constant time.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// Role is what a token may do. Each role may do everything the one before it
// may.
type Role string

// Roles, least to most.
const (
	Viewer   Role = "viewer"   // read pipelines, runs, logs
	Operator Role = "operator" // also trigger, cancel and re-run runs
	Admin    Role = "admin"    // also apply pipelines, manage secrets and tokens, read the audit log
)

var rank = map[Role]int{Viewer: 1, Operator: 2, Admin: 3}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if _, ok := rank[r]; !ok {
		return "", fmt.Errorf("role %q is not one of viewer, operator, admin", s)
	}
	return r, nil
}

// Allows reports whether a token of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return rank[r] >= rank[need] && rank[r] > 0 }

// Errors of [Authenticator.Check].
var (
	ErrNoToken  = errors.New("no token: send Authorization: Bearer <token>")
	ErrBadToken = errors.New("token is not valid")
)

// Prefix starts every API token, so a leaked one is easy to recognise.
const Prefix = "baton_"

// NewToken returns a fresh token and the hash the store keeps of it.
func NewToken() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, Hash(token)
}

// Hash is what the store keeps of a token.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticator checks API tokens against the store.
type Authenticator struct {
	st store.Store
}

// New returns an authenticator over the store's tokens.
func New(st store.Store) *Authenticator { return &Authenticator{st: st} }

// Check returns the token a request's Authorization header carries, if it is
// valid and not revoked.
func (a *Authenticator) Check(ctx context.Context, header string) (*store.TokenRow, error) {
	token, ok := BearerToken(header)
	if !ok {
		return nil, ErrNoToken
	}
	hash := Hash(token)
	row, err := a.st.TokenGetByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if subtle.ConstantTimeCompare(row.Hash, hash) != 1 || !row.RevokedAt.IsZero() {
		return nil, ErrBadToken
	}
	return row, nil
}

// BearerToken returns the token an Authorization header carries in the
// Bearer scheme. The scheme's name is case-insensitive (RFC 7235: "bearer"
// and "BEARER" are "Bearer"); one or more spaces or tabs follow it, then the
// token, which holds none. Anything else is no token.
func BearerToken(header string) (string, bool) {
	i := strings.IndexAny(header, " \t")
	if i < 0 || !strings.EqualFold(header[:i], "Bearer") {
		return "", false
	}
	token := strings.Trim(header[i:], " \t")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// Create makes a token, stores its hash and returns the token itself, which
// is never stored or shown again.
func Create(ctx context.Context, st store.Store, name string, role Role, now time.Time) (string, *store.TokenRow, error) {
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		return "", nil, fmt.Errorf("token name %q: use 1 to 64 letters, digits, '-', '_' or '.'", name)
	}
	token, hash := NewToken()
	row, err := st.TokenCreate(ctx, &store.TokenCreateParams{Name: name, Role: string(role), Hash: hash, Now: now})
	if err != nil {
		return "", nil, err
	}
	return token, row, nil
}

// AdminTokenFile is where the first start writes the admin token.
const AdminTokenFile = "admin.token"

// Bootstrap creates an admin token when the store has none, writes it to
// dataDir/admin.token (mode 0600) and returns that path; "" when tokens
// existed already.
func Bootstrap(ctx context.Context, st store.Store, dataDir string, now time.Time) (string, error) {
	tokens, err := st.TokenList(ctx)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if len(tokens) > 0 {
		return "", nil
	}
	// The file first: a crash between the two leaves a file with a token
	// that is not valid, which the next start replaces, never a valid token
	// nobody can read.
	token, hash := NewToken()
	path := filepath.Join(dataDir, AdminTokenFile)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("auth: write %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if _, err := st.TokenCreate(ctx, &store.TokenCreateParams{Name: "admin", Role: string(Admin), Hash: hash, Now: now}); err != nil {
		return "", fmt.Errorf("auth: create the first admin token: %w", err)
	}
	return path, nil
}
