package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/baton-dev/baton/internal/mask"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
)

// Sealer seals what an attempt starts with, so that a restarted server
// masks the attempt's output, and hands it its secrets, as they were at its
// start, without keeping them in clear. The server's secret keyring
// ([secret.Keyring]) is one.
type Sealer interface {
	// Seal encrypts and authenticates plaintext under name.
	Seal(name string, plaintext []byte) (sealed []byte, keyID string, err error)
	// Open returns what Seal sealed under the same name; its errors never
	// hold the plaintext.
	Open(name string, sealed []byte) ([]byte, error)
}

// processSealer seals for engines given no [Sealer]: with a key that lives
// as long as the process, so what it sealed cannot be opened after a
// restart, and such attempts are stopped instead of re-attached.
var processSealer = sync.OnceValue(func() Sealer { return secret.NewKeyring(secret.GenerateKey()) })

func (e *Engine) sealer() Sealer {
	if e.cfg.Sealer != nil {
		return e.cfg.Sealer
	}
	return processSealer()
}

// startState is what an attempt starts with and must keep to its end: its
// callback token and the values of the secrets its step declares, by name.
// It is stored sealed with the attempt.
type startState struct {
	Token   string            `json:"token"`
	Secrets map[string][]byte `json:"secrets,omitempty"`
}

// sealName binds a sealed start to its attempt, so a blob copied to another
// attempt's row fails to open.
func sealName(k attemptKey) string {
	return fmt.Sprintf("baton attempt %q %q %d", k.run, k.step, k.attempt)
}

// seal returns s sealed for attempt k.
func (e *Engine) seal(k attemptKey, s *startState) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("seal the attempt's secrets: %w", err)
	}
	sealed, _, err := e.sealer().Seal(sealName(k), plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("seal the attempt's secrets: %w", err)
	}
	return sealed, nil
}

// errNothingSealed: the attempt's row holds no sealed start, as for one
// started by a baton older than sealing.
var errNothingSealed = errors.New("nothing was sealed when it started")

// openStart returns what attempt k started with, from its sealed blob.
func (e *Engine) openStart(k attemptKey, sealed []byte) (*startState, error) {
	if len(sealed) == 0 {
		return nil, errNothingSealed
	}
	plain, err := e.sealer().Open(sealName(k), sealed)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	var s startState
	if err := json.Unmarshal(plain, &s); err != nil {
		// Never the decoder's message: it may quote the plaintext.
		return nil, errors.New("the sealed secrets are malformed")
	}
	return &s, nil
}

// masker returns a masker for the attempt's token, every secret value and
// the forms of them a step is likely to print whole.
func (s *startState) masker() *mask.Masker {
	values := []string{}
	if s.Token != "" {
		values = append(values, s.Token)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Secrets)) {
		v := string(s.Secrets[name])
		values = append(values, v)
		// A value read from a file often ends in a newline the step drops
		// ($(cat file)); mask what it prints either way.
		if trimmed := strings.TrimSpace(v); trimmed != v {
			values = append(values, trimmed)
		}
		// Logs are stored line by line: each line of a multi-line secret (a
		// key file, say) is masked on its own too.
		if strings.Contains(strings.TrimSpace(v), "\n") {
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					values = append(values, line)
				}
			}
		}
	}
	return mask.New(values...)
}

// attemptMasker returns what a running attempt must mask: the masker this
// life keeps while it drives the attempt, or, before it does (a callback
// that arrives after a restart, ahead of the re-attach), one made from what
// the attempt started with.
func (e *Engine) attemptMasker(a *store.AttemptRow) (*mask.Masker, error) {
	k := attemptKey{a.RunID, a.Step, a.Attempt}
	if m, ok := e.maskers.Load(k); ok {
		return m.(*mask.Masker), nil
	}
	s, err := e.openStart(k, a.Sealed)
	if err != nil {
		return nil, err
	}
	return s.masker(), nil
}
