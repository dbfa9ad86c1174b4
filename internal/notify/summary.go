// Package notify delivers run notifications: it claims due rows of the
// store's outbox ([store.Outbox]), POSTs each row's JSON summary of a run to
// its URL signed with HMAC-SHA256, and records every try, retrying with
// exponential backoff until the receiver accepts it or baton gives up.
package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Headers a delivery carries.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the exact
	// body, keyed with the named secret's value.
	HeaderSignature = "X-Baton-Signature"
	// HeaderDelivery is the delivery id: the same on every try of one
	// notification, for the receiver to deduplicate on.
	HeaderDelivery = "X-Baton-Delivery"
)

// maxErrorBytes bounds the error of the run and of each step in a summary.
const maxErrorBytes = 1024

// Summary is the body of a notification: the run as it ended.
type Summary struct {
	Delivery   string        `json:"delivery"`
	RunID      string        `json:"run_id"`
	Pipeline   string        `json:"pipeline"`
	Revision   int           `json:"revision"`
	Status     string        `json:"status"`
	Error      string        `json:"error,omitempty"`
	StartedAt  *time.Time    `json:"started_at,omitempty"`
	FinishedAt time.Time     `json:"finished_at"`
	Steps      []StepSummary `json:"steps"`
}

// StepSummary is one step of a [Summary].
type StepSummary struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
}

// Truncate bounds an error for a summary, cutting at a rune boundary.
func Truncate(s string) string {
	if len(s) <= maxErrorBytes {
		return s
	}
	cut := maxErrorBytes
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + " …(truncated)"
}

// Sign is the value of [HeaderSignature] for body under key.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is [Sign] of body under key, in constant
// time: what a receiver does.
func Verify(key, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(key, body)), []byte(signature))
}
