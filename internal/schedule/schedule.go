// Package schedule fires pipeline runs from the cron schedules in their
// definitions.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/robfig/cron/v3"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// Scheduler keeps one cron entry per schedule of every pipeline's latest
// revision.
type Scheduler struct {
	eng *engine.Engine
	st  store.Store
	log *slog.Logger

	mu   sync.Mutex
	cron *cron.Cron
}

// New returns a scheduler; call [Scheduler.Reload] to load the schedules and
// [Scheduler.Start] to run them.
func New(eng *engine.Engine, st store.Store, log *slog.Logger) *Scheduler {
	return &Scheduler{eng: eng, st: st, log: log, cron: cron.New()}
}

// Start begins firing schedules.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cron.Start()
}

// Stop stops firing; runs already started go on.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	c := s.cron
	s.mu.Unlock()
	<-c.Stop().Done()
}

// Reload replaces every entry with the schedules of the pipelines stored now.
// Call it after a pipeline is applied.
func (s *Scheduler) Reload(ctx context.Context) error {
	rows, err := s.st.PipelineList(ctx)
	if err != nil {
		return fmt.Errorf("schedule: list pipelines: %w", err)
	}
	next := cron.New()
	count := 0
	for _, row := range rows {
		spec, _, err := s.eng.Spec(ctx, row.Name, row.Revision)
		if err != nil {
			return fmt.Errorf("schedule: %w", err)
		}
		for i, sch := range spec.Schedules {
			name, params, cronExpr := row.Name, sch.Params, sch.Cron
			_, err := next.AddFunc(cronExpr, func() { s.fire(name, cronExpr, params) })
			if err != nil {
				return fmt.Errorf("schedule: pipeline %q schedules[%d] %q: %w", row.Name, i, cronExpr, err)
			}
			count++
		}
	}
	s.mu.Lock()
	old := s.cron
	s.cron = next
	s.mu.Unlock()
	old.Stop()
	next.Start()
	s.log.Info("schedules loaded", "count", count)
	return nil
}

func (s *Scheduler) fire(pipeline, expr string, params map[string]string) {
	run, err := s.eng.Submit(context.Background(), &engine.SubmitParams{Pipeline: pipeline, Params: params})
	if err != nil {
		s.log.Error("scheduled run not started", "pipeline", pipeline, "cron", expr, "err", err)
		return
	}
	s.log.Info("scheduled run started", "pipeline", pipeline, "cron", expr, "run_id", run.ID)
}
