package azurequeue

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// maxPoisonBytes bounds a poison message: Azure takes at most 64 KiB,
// and the SDK's XML encoding of quotes and angle brackets adds to it.
const maxPoisonBytes = 48 << 10

// Poisoned is the body of a message in a poison queue: the message that
// could not start a run, and why.
type Poisoned struct {
	// Reason says what was wrong with the message, without quoting it.
	Reason       string    `json:"reason"`
	Pipeline     string    `json:"pipeline"`
	Queue        string    `json:"queue"`
	MessageID    string    `json:"message_id"`
	DequeueCount int64     `json:"dequeue_count"`
	InsertedAt   time.Time `json:"inserted_at,omitzero"`
	PoisonedAt   time.Time `json:"poisoned_at"`
	// Message is the message's text as it was received; to try it again,
	// put this text back into the queue.
	Message string `json:"message"`
	// MessageBytes is the length of the message; when Message is shorter,
	// the message was cut to keep the poison message within Azure's limit.
	MessageBytes int `json:"message_bytes"`
}

// poisonBody returns p as JSON, cutting p.Message until it fits.
func poisonBody(p Poisoned) string {
	p.MessageBytes = len(p.Message)
	whole := p.Message
	p.Message = ""
	empty, _ := json.Marshal(p) // only strings, numbers and times: no error
	budget := maxPoisonBytes - len(empty)
	p.Message = whole
	for {
		b, _ := json.Marshal(p)
		if len(b) <= maxPoisonBytes || p.Message == "" {
			return string(b)
		}
		// Keep the share of the message that fits, as escaped now; escapes
		// differ along it, so a further round may cut a little more.
		encoded := len(b) - len(empty)
		cut := len(p.Message) * budget / encoded
		if cut >= len(p.Message) {
			cut = len(p.Message) - 1
		}
		for cut > 0 && !utf8.RuneStart(p.Message[cut]) {
			cut--
		}
		p.Message = p.Message[:max(cut, 0)]
	}
}
