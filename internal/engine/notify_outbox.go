package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/baton-dev/baton/internal/failpoint"
	"github.com/baton-dev/baton/internal/notify"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// notifications are the outbox rows for a run of spec ending as status
// with reason at now: one per notify: entry that lists status, each with a
// fresh delivery id and the run's summary as its body. The store queues
// them with the run's end, in its transaction (see
// [store.RunSetStatusParams.Notify]).
func (e *Engine) notifications(ctx context.Context, run *store.RunRow, spec *pipeline.Spec, status store.RunStatus, reason string, now time.Time) []store.Notification {
	if spec == nil || len(spec.Notify) == 0 {
		return nil
	}
	var steps []*store.StepRow
	started := run.StartedAt
	for _, n := range spec.Notify {
		if n.Sends(string(status)) {
			var err error
			if steps, err = e.st.StepList(ctx, run.ID); err != nil {
				// The summary goes without its steps rather than not at all.
				e.log.Warn("list steps for a notification", "run_id", run.ID, "err", err)
			}
			if stored, err := e.st.RunGet(ctx, run.ID); err == nil {
				started = stored.StartedAt // the runner's copy may predate it
			}
			break
		}
	}
	var out []store.Notification
	for i, n := range spec.Notify {
		if !n.Sends(string(status)) {
			continue
		}
		id := newDeliveryID()
		body, err := json.Marshal(summary(id, run, started, steps, status, reason, now))
		if err != nil {
			e.log.Error("encode a notification", "run_id", run.ID, "err", err)
			continue
		}
		out = append(out, store.Notification{
			ID: id, RunID: run.ID, Pipeline: run.Pipeline, Index: i,
			URL: n.URL, Secret: n.Secret, Body: body,
		})
	}
	return out
}

// endNotifications are [Engine.notifications] for a run the engine ends
// without a runner: none when the run's revision cannot be read.
func (e *Engine) endNotifications(ctx context.Context, run *store.RunRow, status store.RunStatus, reason string, now time.Time) []store.Notification {
	spec, _, err := e.Spec(ctx, run.Pipeline, run.Revision)
	if err != nil {
		e.log.Warn("notify the end of a run without its pipeline", "run_id", run.ID, "err", err)
		return nil
	}
	return e.notifications(ctx, run, spec, status, reason, now)
}

// summary is the run as it ends. A step the run ends before it does is
// shown as the store records it then: canceled, with
// [store.LeftoverStepError] unless it had an error.
func summary(id string, run *store.RunRow, started time.Time, steps []*store.StepRow, status store.RunStatus, reason string, now time.Time) *notify.Summary {
	s := &notify.Summary{
		Delivery: id, RunID: run.ID, Pipeline: run.Pipeline, Revision: run.Revision,
		Status: string(status), Error: notify.Truncate(reason), FinishedAt: now.UTC(),
		Steps: make([]notify.StepSummary, 0, len(steps)),
	}
	if !started.IsZero() {
		started = started.UTC()
		s.StartedAt = &started
	}
	for _, st := range steps {
		step := notify.StepSummary{Name: st.Name, Status: string(st.Status), Attempts: st.Attempts, Error: st.Error}
		if !st.Status.Terminal() {
			step.Status = string(store.StepCanceled)
			if step.Error == "" {
				step.Error = store.LeftoverStepError
			}
		}
		step.Error = notify.Truncate(step.Error)
		s.Steps = append(s.Steps, step)
	}
	return s
}

// newDeliveryID returns a delivery id unique across runs and servers.
func newDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "dlv-" + hex.EncodeToString(b[:])
}

// queued is where a crash test kills the server once a run's end and its
// notifications are stored (err nil), none delivered yet.
func queued(err error, notes []store.Notification) {
	if err == nil && len(notes) > 0 {
		failpoint.Hit(failpoint.NotificationQueued)
	}
}
