package engine

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// newRunID returns an id that sorts by creation time and is safe in container
// names and URLs: 20261123t040701-3f9a1c2b.
func newRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102t150405") + "-" + hex.EncodeToString(b[:])
}

// newToken returns a fresh attempt token and the hash the store keeps of it.
func newToken() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = hex.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
