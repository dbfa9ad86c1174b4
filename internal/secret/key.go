// Package secret seals secret values for storage and opens them, with keys
// that can be rotated.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"
)

// KeySize is the length in bytes of a key: AES-256.
const KeySize = 32

// maxKeyFileBytes bounds what [LoadKey] reads, so pointing it at the wrong
// file fails fast instead of reading a large file into memory.
const maxKeyFileBytes = 1 << 10

// Key is a 32-byte key for sealing secrets. Its bytes never leave the
// package: printing or logging a Key shows only its [Key.ID].
type Key struct {
	id  string
	raw [KeySize]byte
}

// GenerateKey returns a new random key.
func GenerateKey() *Key {
	var raw [KeySize]byte
	rand.Read(raw[:]) // never returns an error; it crashes the program instead
	return newKey(raw)
}

func newKey(raw [KeySize]byte) *Key {
	sum := sha256.Sum256(raw[:])
	return &Key{id: hex.EncodeToString(sum[:idSize]), raw: raw}
}

// ID names the key: the first 8 hex characters of the SHA-256 of its bytes.
// It is safe to print and store; it tells which key sealed a value.
func (k *Key) ID() string { return k.id }

// String returns the key's ID, never its bytes.
func (k *Key) String() string { return k.id }

// GoString returns the key's ID, so %#v does not print the key's bytes.
func (k *Key) GoString() string { return "secret.Key(" + k.id + ")" }

// Format prints the key's ID whatever the verb, so no fmt verb (%x, %+v,
// %#v, …) can print the key's bytes.
func (k *Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, k.GoString())
		return
	}
	fmt.Fprint(f, k.id)
}

// LogValue implements [slog.LogValuer]: a logged key shows only its ID.
func (k *Key) LogValue() slog.Value { return slog.StringValue(k.id) }

var _ slog.LogValuer = (*Key)(nil)

// ParseKey decodes a key written as 64 hex characters or as base64 (standard
// or URL alphabet, with or without padding), as in the BATON_SECRET_KEY
// environment variable. Surrounding space is ignored. Errors never quote the
// text, since it may be a real key with a typo.
func ParseKey(text string) (*Key, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("secret: key is empty; a key is 32 random bytes written as 64 hex characters or base64")
	}
	raw, err := decodeKey(text)
	if err != nil {
		return nil, err
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("secret: key decodes to %d bytes, want %d (64 hex characters or 44 base64 characters)", len(raw), KeySize)
	}
	return newKey([KeySize]byte(raw)), nil
}

func decodeKey(text string) ([]byte, error) {
	// Hex first: 64 hex characters are also valid base64, of the wrong length.
	if len(text)%2 == 0 {
		if raw, err := hex.DecodeString(text); err == nil {
			return raw, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(text); err == nil {
			return raw, nil
		}
	}
	return nil, errors.New("secret: key is neither hex nor base64; a key is 32 random bytes written as 64 hex characters or base64")
}

// LoadKey reads a key file written by [GenerateKeyFile] or by hand (see
// [ParseKey] for the encodings). It refuses a file that group or others may
// read or write, since anyone who reads the key can open every secret.
func LoadKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits to check.
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secret: key file %s has mode %04o, open to other users; run: chmod 600 %s", path, perm, path)
	}
	if info.Size() > maxKeyFileBytes {
		return nil, fmt.Errorf("secret: key file %s holds %d bytes, too many for a key; is it the right file?", path, info.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("secret: key file %s holds more than %d bytes, too many for a key; is it the right file?", path, maxKeyFileBytes)
	}
	k, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (in key file %s)", err, path)
	}
	return k, nil
}

// GenerateKeyFile writes a new random key to path as 64 hex characters, with
// mode 0600. It refuses to replace an existing file: overwriting a key makes
// every secret sealed with it unreadable.
func GenerateKeyFile(path string) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("secret: key file %s already exists; refusing to overwrite it, since secrets sealed with that key could no longer be opened", path)
	}
	if err != nil {
		return fmt.Errorf("secret: create key file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("secret: write key file %s: %w", path, cerr)
		}
		if err != nil {
			os.Remove(path) // a half-written key file would only fail later
		}
	}()
	k := GenerateKey()
	if _, err := f.WriteString(hex.EncodeToString(k.raw[:]) + "\n"); err != nil {
		return fmt.Errorf("secret: write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("secret: write key file %s: %w", path, err)
	}
	return nil
}
