package azurequeue

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPoisonBody(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, message string
		whole         bool
	}{
		{"small", `{"target": [1]}`, true},
		{"empty", ``, true},
		{"quotes make it grow", strings.Repeat(`"`, 40<<10), false},
		{"large", strings.Repeat("é", 60<<10), false},
		{"control bytes", strings.Repeat("\x01", 30<<10), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := poisonBody(Poisoned{Reason: "param a is a list", Pipeline: "p", Queue: "q", MessageID: "m",
				DequeueCount: 5, PoisonedAt: at, Message: tt.message})
			if len(body) > maxPoisonBytes {
				t.Fatalf("the poison message is %d bytes, over %d", len(body), maxPoisonBytes)
			}
			var got Poisoned
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Reason != "param a is a list" || got.MessageID != "m" || got.DequeueCount != 5 || !got.PoisonedAt.Equal(at) ||
				got.MessageBytes != len(tt.message) || !got.InsertedAt.IsZero() {
				t.Fatalf("got %+v", got)
			}
			if tt.whole != (got.Message == tt.message) || !strings.HasPrefix(tt.message, got.Message) || !utf8.ValidString(got.Message) {
				t.Fatalf("message of %d bytes kept as %d bytes (whole: %v)", len(tt.message), len(got.Message), tt.whole)
			}
			if !tt.whole && len(got.Message) == 0 {
				t.Fatalf("the whole message was cut")
			}
		})
	}
}
