//go:build !azure

package azurequeue

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

const triggered = `name: ingest
steps: [{name: a, command: [a]}]
triggers:
  - azure_queue: {account_url: https://acct.queue.core.windows.net, queue: initjob}
`

// TestOffRefusesAtApply: a build without the trigger refuses a pipeline
// that has one, at its line, saying how to build one that has it.
func TestOffRefusesAtApply(t *testing.T) {
	env := newTestEnv(t, Missing())
	_, _, err := env.eng.Apply(t.Context(), "ingest.yaml", []byte(triggered))
	if !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("Apply: got %v, want an ErrInvalid", err)
	}
	want := "ingest.yaml:4: triggers[0]: this baton was built without the azure_queue trigger, which needs the Azure SDK; build one that has it with: go build -tags azure ./cmd/baton"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Apply: got  %v\nwant %s", err, want)
	}
	if _, err := env.st.PipelineGet(t.Context(), "ingest", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused pipeline was stored: %v", err)
	}
}

// TestOffManagerIdles: a pipeline stored by a build that had the trigger
// starts no consumer here, and says so once.
func TestOffManagerIdles(t *testing.T) {
	env := newTestEnv(t, nil) // an engine that knows of no missing kind, as in an azure build
	if _, _, err := env.eng.Apply(t.Context(), "ingest.yaml", []byte(triggered)); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Engine: env.eng, Store: env.st, Logger: env.log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	for range 2 {
		if err := m.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Running(); n != 0 {
		t.Fatalf("%d consumers run in a build without the trigger", n)
	}
	if got := strings.Count(env.buf.String(), "built without them"); got != 1 {
		t.Fatalf("warned %d times, want once:\n%s", got, env.buf.String())
	}
}
