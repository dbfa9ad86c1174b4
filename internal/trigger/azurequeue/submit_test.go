package azurequeue

import (
	"errors"
	"testing"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

const keyedPipeline = `name: ingest
params: {target: {required: true}}
steps: [{name: a, command: [a]}]
`

// TestSubmitKeyRace: deliveries of one message handled at once start one
// run; the others get it back with the store's refusal.
func TestSubmitKeyRace(t *testing.T) {
	env := newTestEnv(t, nil)
	if _, _, err := env.eng.Apply(t.Context(), "p.yaml", []byte(keyedPipeline)); err != nil {
		t.Fatal(err)
	}
	const n = 6
	errs := make(chan error, n)
	ids := make(chan string, n)
	for range n {
		go func() {
			run, err := env.eng.Submit(t.Context(), &engine.SubmitParams{Pipeline: "ingest", Params: map[string]string{"target": "eu"}, Key: "k"})
			if run != nil {
				ids <- run.ID
			}
			errs <- err
		}()
	}
	created := 0
	for range n {
		err := <-errs
		var taken *store.RunKeyExistsError
		switch {
		case err == nil:
			created++
		case !errors.As(err, &taken) || !errors.Is(err, store.ErrExists):
			t.Fatalf("Submit: got %v, want nil or a *store.RunKeyExistsError", err)
		}
	}
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		if id != first {
			t.Fatalf("Submits of one key returned runs %s and %s", first, id)
		}
	}
	if created != 1 || len(env.runsOf(t, "ingest")) != 1 {
		t.Fatalf("%d Submits of one key created a run, %d runs stored; want 1", created, len(env.runsOf(t, "ingest")))
	}
}
