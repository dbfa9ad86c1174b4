package azurequeue

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// testEnv is an engine on a real SQLite file with the no-op executor, and
// the log it writes.
type testEnv struct {
	eng *engine.Engine
	st  store.Store
	log *slog.Logger
	buf *syncBuffer
}

func newTestEnv(t *testing.T, missing map[string]string) *testEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := engine.New(engine.Config{Store: st, Executor: noop.New(), Logger: log, MissingTriggers: missing})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
		_ = st.Close()
	})
	return &testEnv{eng: eng, st: st, log: log, buf: buf}
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runsOf returns the runs of a pipeline, oldest first.
func (env *testEnv) runsOf(t *testing.T, name string) []*store.RunRow {
	t.Helper()
	runs, err := env.st.RunList(t.Context(), &store.RunListParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(runs)
	return runs
}
