package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// Layout of a sealed value:
//
//	version (1 byte) || key ID (4 bytes) || nonce (12 bytes) || ciphertext and GCM tag
//
// The key ID is the raw form of [Key.ID], so a keyring can find the key
// without trying each one. The version byte leaves room for another layout
// or cipher later.
const (
	version1   = 1
	idSize     = 4
	headerSize = 1 + idSize
	nonceSize  = 12
	overhead   = headerSize + nonceSize + 16 // 16: the GCM tag
)

// Sentinel errors wrapped by [Keyring.Open].
var (
	// ErrUnknownKey means the value was sealed with a key the keyring does
	// not hold: add that key to the keyring as an old key.
	ErrUnknownKey = errors.New("sealed with a key not in the keyring")
	// ErrInvalid means the value is malformed, was altered, or was sealed
	// under another name.
	ErrInvalid = errors.New("sealed value is malformed, altered, or belongs to another name")
)

// Keyring seals with one primary key and opens with it or with older keys,
// so keys can be rotated: add a new primary, keep the old key for opening,
// re-seal what [Keyring.NeedsRotation] reports, then drop the old key.
// A Keyring is safe for concurrent use.
type Keyring struct {
	primary *ringKey
	byID    map[[idSize]byte]*ringKey
}

type ringKey struct {
	key  *Key
	id   [idSize]byte
	aead cipher.AEAD
}

// NewKeyring returns a keyring that seals with primary and opens values
// sealed with primary or any of old. It panics if primary is nil.
func NewKeyring(primary *Key, old ...*Key) *Keyring {
	if primary == nil {
		panic("secret: NewKeyring with a nil primary key")
	}
	r := &Keyring{byID: make(map[[idSize]byte]*ringKey, 1+len(old))}
	r.primary = r.add(primary)
	for _, k := range old {
		if k != nil {
			r.add(k)
		}
	}
	return r
}

func (r *Keyring) add(k *Key) *ringKey {
	var id [idSize]byte
	hex.Decode(id[:], []byte(k.id)) // k.id is always hex of idSize bytes
	if rk, ok := r.byID[id]; ok {
		// The same key twice, or (odds 2^-32) an ID clash: the first, so the
		// primary, wins.
		return rk
	}
	block, err := aes.NewCipher(k.raw[:])
	if err != nil {
		panic(err) // unreachable: the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err) // unreachable: standard nonce and tag sizes
	}
	rk := &ringKey{key: k, id: id, aead: aead}
	r.byID[id] = rk
	return rk
}

// PrimaryID returns the ID of the key that [Keyring.Seal] uses.
func (r *Keyring) PrimaryID() string { return r.primary.key.id }

// Seal encrypts plaintext with the primary key using AES-256-GCM and a
// random nonce. The secret's name is authenticated with it, so a sealed value
// copied to another name fails to open. It returns the sealed value and the
// ID of the key that sealed it.
//
// Random 96-bit nonces are safe for about 2^32 seals per key, far more than
// a secret store will make before its key is rotated.
func (r *Keyring) Seal(name string, plaintext []byte) (sealed []byte, keyID string, err error) {
	rk := r.primary
	sealed = make([]byte, headerSize+nonceSize, overhead+len(plaintext))
	sealed[0] = version1
	copy(sealed[1:headerSize], rk.id[:])
	nonce := sealed[headerSize : headerSize+nonceSize]
	rand.Read(nonce) // never returns an error; it crashes the program instead
	sealed = rk.aead.Seal(sealed, nonce, plaintext, additionalData(sealed[:headerSize], name))
	return sealed, rk.key.id, nil
}

// Open decrypts a value sealed by [Keyring.Seal] under the same name, with
// whichever key of the ring sealed it. Errors wrap [ErrUnknownKey] or
// [ErrInvalid] and never hold the plaintext.
func (r *Keyring) Open(name string, sealed []byte) ([]byte, error) {
	if len(sealed) < overhead {
		return nil, fmt.Errorf("secret: open %q: %w: %d bytes is too short", name, ErrInvalid, len(sealed))
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("secret: open %q: %w: unknown version %d", name, ErrInvalid, sealed[0])
	}
	id := [idSize]byte(sealed[1:headerSize])
	rk, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("secret: open %q: %w: key %x; add that key to the keyring", name, ErrUnknownKey, id)
	}
	nonce := sealed[headerSize : headerSize+nonceSize]
	plain, err := rk.aead.Open(nil, nonce, sealed[headerSize+nonceSize:], additionalData(sealed[:headerSize], name))
	if err != nil {
		return nil, fmt.Errorf("secret: open %q with key %s: %w", name, rk.key.id, ErrInvalid)
	}
	return plain, nil
}

// NeedsRotation reports whether sealed was sealed with a key other than the
// primary one. A malformed value needs rotation too: [Keyring.Open] will then
// report what is wrong with it.
func (r *Keyring) NeedsRotation(sealed []byte) bool {
	if len(sealed) < overhead || sealed[0] != version1 {
		return true
	}
	return [idSize]byte(sealed[1:headerSize]) != r.primary.id
}

// additionalData binds the header and the secret's name to the ciphertext:
// the name so a value cannot be moved to another secret, the header so its
// version and key ID cannot be altered.
func additionalData(header []byte, name string) []byte {
	ad := make([]byte, 0, len(header)+len(name))
	ad = append(ad, header...)
	return append(ad, name...)
}
