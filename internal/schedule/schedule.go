// Package schedule fires pipeline runs from the cron schedules in their
// definitions. Every tick is recorded in the store before its run is
// submitted, so a tick fires at most once, across restarts and reloads, and
// what came of it (fired, skipped, failed) once it is known; ticks
// missed while baton was down follow the schedule's catch-up policy. A
// pipeline's schedules can be paused in the store; a paused schedule starts
// no run, across restarts, until resumed.
package schedule

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// Scheduler runs one loop per schedule of every pipeline's latest revision.
type Scheduler struct {
	eng *engine.Engine
	st  store.Store
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a scheduler; [Scheduler.Reload] starts it.
func New(eng *engine.Engine, st store.Store, log *slog.Logger) *Scheduler {
	return &Scheduler{eng: eng, st: st, log: log, now: time.Now}
}

// Stop ends every loop; runs already started go on.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Scheduler) stopLocked() {
	if s.cancel != nil {
		s.cancel()
		s.wg.Wait()
		s.cancel = nil
	}
}

// Reload replaces every loop with the schedules of the pipelines stored now.
// Call it at start and after a pipeline is applied.
func (s *Scheduler) Reload(ctx context.Context) error {
	rows, err := s.st.PipelineList(ctx)
	if err != nil {
		return fmt.Errorf("schedule: list pipelines: %w", err)
	}
	type entry struct {
		pipeline string
		sch      pipeline.Schedule
	}
	var entries []entry
	for _, row := range rows {
		spec, _, err := s.eng.Spec(ctx, row.Name, row.Revision)
		if err != nil {
			return fmt.Errorf("schedule: %w", err)
		}
		for _, sch := range spec.Schedules {
			entries = append(entries, entry{row.Name, sch})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	for _, e := range entries {
		s.wg.Go(func() { s.loop(loopCtx, e.pipeline, e.sch) })
	}
	s.log.Info("schedules loaded", "count", len(entries))
	return nil
}

func (s *Scheduler) loop(ctx context.Context, name string, sch pipeline.Schedule) {
	s.catchUp(ctx, name, sch)
	for {
		next := sch.Next(s.now())
		if next.IsZero() {
			s.log.Warn("schedule never fires again", "pipeline", name, "cron", sch.Cron)
			return
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
			s.fire(ctx, name, sch, next, false)
		}
	}
}

// catchUp fires what the schedule's catch-up policy asks for the ticks missed
// since the last recorded one. A schedule that never fired missed nothing.
func (s *Scheduler) catchUp(ctx context.Context, name string, sch pipeline.Schedule) {
	if sch.Catchup == "none" || sch.Catchup == "" {
		return
	}
	last, err := s.st.ScheduleLastTick(ctx, name, sch.Key)
	if err != nil {
		s.log.Error("read last tick", "pipeline", name, "cron", sch.Cron, "err", err)
		return
	}
	if last.IsZero() {
		return
	}
	var missed []time.Time
	now := s.now()
	for t := sch.Next(last); !t.IsZero() && !t.After(now); t = sch.Next(t) {
		missed = append(missed, t)
		if len(missed) > pipeline.MaxCatchup {
			missed = missed[1:]
		}
	}
	if len(missed) == 0 {
		return
	}
	if sch.Catchup == "last" {
		missed = missed[len(missed)-1:]
	}
	s.log.Info("catching up missed ticks", "pipeline", name, "cron", sch.Cron, "ticks", len(missed))
	for _, t := range missed {
		s.fire(ctx, name, sch, t, true)
	}
}

// fire starts the run of one tick, unless that tick fired before, the
// pipeline's schedules are paused or the overlap policy says to skip it,
// and records in the store what came of the tick. A tick skipped while
// paused is recorded all the same, so resuming does not catch up on what
// the pause held back. catchUp marks a tick fired late, by catch-up.
func (s *Scheduler) fire(ctx context.Context, name string, sch pipeline.Schedule, tick time.Time, catchUp bool) {
	log := s.log.With("pipeline", name, "cron", sch.Cron, "tick", tick)
	// The claim lets this scheduler, and no other sharing the store, write
	// the tick's outcome.
	claim := rand.Text()
	claimed, err := s.st.ScheduleTick(ctx, &store.ScheduleTickParams{
		Pipeline: name, Key: sch.Key, Tick: tick, Now: s.now(), Claim: claim, CatchUp: catchUp,
	})
	if err != nil {
		log.Error("record tick", "err", err)
		return
	}
	if !claimed {
		return // fired already, before a restart or a reload
	}
	outcome, runID, err := s.start(ctx, name, sch)
	switch outcome {
	case store.TickFired:
		log.Info("scheduled run started", "run_id", runID, "catch_up", catchUp)
	case store.TickSkippedPaused:
		log.Info("tick skipped: the pipeline's schedules are paused")
	case store.TickSkippedOverlap:
		log.Info("tick skipped: a run of the pipeline is still going", "overlap", sch.Overlap)
	default:
		log.Error("scheduled run not started", "err", err)
	}
	o := &store.ScheduleTickOutcomeParams{
		Pipeline: name, Key: sch.Key, Tick: tick, Claim: claim, Outcome: outcome, RunID: runID, Now: s.now(),
	}
	if err != nil {
		o.Error = err.Error()
	}
	// What came of a tick is recorded even when the scheduler is stopping:
	// the run may have started.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer cancel()
	if err := s.st.ScheduleTickSetOutcome(wctx, o); err != nil {
		log.Error("record tick outcome", "outcome", outcome, "err", err)
	}
}

// outcomeTimeout bounds recording a tick's outcome.
const outcomeTimeout = 30 * time.Second

// start decides a claimed tick: it starts the tick's run and returns
// [store.TickFired] with the run's id, or returns why it did not.
func (s *Scheduler) start(ctx context.Context, name string, sch pipeline.Schedule) (store.TickOutcome, string, error) {
	paused, err := s.paused(ctx, name)
	if err != nil {
		return store.TickFailed, "", fmt.Errorf("cannot tell whether the schedules are paused: %w", err)
	}
	if paused {
		return store.TickSkippedPaused, "", nil
	}
	if sch.Overlap != "allow" {
		active, err := s.st.RunList(ctx, &store.RunListParams{
			Pipeline: name, Statuses: []store.RunStatus{store.RunQueued, store.RunRunning}, Limit: 2,
		})
		if err != nil {
			return store.TickFailed, "", fmt.Errorf("look for running runs: %w", err)
		}
		queued := 0
		for _, r := range active {
			if r.Status == store.RunQueued {
				queued++
			}
		}
		if (sch.Overlap == "skip" && len(active) > 0) || (sch.Overlap == "queue" && queued > 0) {
			return store.TickSkippedOverlap, "", nil
		}
	}
	run, err := s.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name, Params: sch.Params, Serial: sch.Overlap == "queue"})
	if run == nil {
		return store.TickFailed, "", err
	}
	if err != nil {
		// Stored but not started (the server is stopping): the run is
		// the tick's all the same, and the next start drives it.
		s.log.Warn("scheduled run stored but not started here; the next server start drives it", "pipeline", name, "run_id", run.ID, "err", err)
	}
	return store.TickFired, run.ID, nil
}

// paused reports whether a pipeline's schedules are paused. It is read at
// every tick, so a pause or resume takes effect without a reload.
func (s *Scheduler) paused(ctx context.Context, name string) (bool, error) {
	rows, err := s.st.SchedulePauseList(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range rows {
		if p.Pipeline == name {
			return true, nil
		}
	}
	return false, nil
}
