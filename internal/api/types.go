package api

import (
	"encoding/json"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// Pipeline is a stored pipeline revision as the API shows it.
type Pipeline struct {
	Name      string    `json:"name"`
	Revision  int       `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	Spec      string    `json:"spec,omitempty"`
	// Schedules are the cron expressions of the revision's schedules.
	Schedules []string `json:"schedules"`
	// SchedulesPausedAt is when the pipeline's schedules were paused; nil
	// while they fire.
	SchedulesPausedAt *time.Time `json:"schedules_paused_at,omitempty"`
	// Created is set by apply: false when the definition was unchanged.
	Created *bool `json:"created,omitempty"`
}

// Run is a run as the API shows it. Steps and Variables are filled by get,
// not by list.
type Run struct {
	ID         string            `json:"id"`
	URL        string            `json:"url"`
	Pipeline   string            `json:"pipeline"`
	Revision   int               `json:"revision"`
	Status     store.RunStatus   `json:"status"`
	Executor   string            `json:"executor,omitempty"`
	Error      string            `json:"error,omitempty"`
	RetryOf    string            `json:"retry_of,omitempty"`
	Params     map[string]string `json:"params,omitempty"`
	Variables  map[string]string `json:"variables,omitempty"`
	Steps      []Step            `json:"steps,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	// Notifications are the run's notify: deliveries, once it ended.
	Notifications []Notification `json:"notifications,omitempty"`
	// Parent is the step attempt of another run that started this one.
	Parent *RunParent `json:"parent,omitempty"`
}

// StepInstance says which fan-out step a step is an instance of, and for
// which item.
type StepInstance struct {
	Of    string `json:"of"`
	Item  string `json:"item"`
	Index int    `json:"index"`
}

// RunParent is the step attempt of another run that started a run (a
// step with pipeline:).
type RunParent struct {
	RunID   string `json:"run_id"`
	Step    string `json:"step"`
	Attempt int    `json:"attempt"`
}

// Step is one step of a run.
type Step struct {
	Name       string            `json:"name"`
	Status     store.StepStatus  `json:"status"`
	Attempts   []Attempt         `json:"attempts"`
	ExitCode   *int              `json:"exit_code,omitempty"`
	Error      string            `json:"error,omitempty"`
	Outputs    map[string]string `json:"outputs,omitempty"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	// Approval is set on a step with an approval once it waits.
	Approval *Approval `json:"approval,omitempty"`
	// Instance is set on an instance of a fan-out step (for_each).
	Instance *StepInstance `json:"instance,omitempty"`
}

// Attempt is one try of a step.
type Attempt struct {
	Attempt      int              `json:"attempt"`
	Status       store.StepStatus `json:"status"`
	ExitCode     *int             `json:"exit_code,omitempty"`
	Error        string           `json:"error,omitempty"`
	Removed      bool             `json:"removed"`
	CleanupError string           `json:"cleanup_error,omitempty"`
	CleanupTries int              `json:"cleanup_tries,omitempty"`
	// ImageDigest is the image the attempt ran, by digest.
	ImageDigest string `json:"image_digest,omitempty"`
	// Executor is the registry name of the executor that ran the attempt.
	Executor string `json:"executor,omitempty"`
	// Handle is what the executor made for the attempt, by the
	// executor's own ID (a container, a Job, a container group); it stays
	// once that is removed.
	Handle string `json:"handle,omitempty"`
	// ChildRun is the run the attempt of a step with pipeline: started.
	ChildRun   string     `json:"child_run,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// LogLine is one line a step printed.
type LogLine struct {
	Seq     int64     `json:"seq"`
	Step    string    `json:"step"`
	Attempt int       `json:"attempt"`
	Time    time.Time `json:"time"`
	Stream  string    `json:"stream"`
	Text    string    `json:"text"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func runJSON(r *store.RunRow) Run {
	out := Run{
		ID: r.ID, URL: "/api/v1/runs/" + r.ID, Pipeline: r.Pipeline, Revision: r.Revision,
		Status: r.Status, Executor: r.Executor, Error: r.Error, RetryOf: r.RetryOf, Params: r.Params,
		CreatedAt: r.CreatedAt, StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt),
	}
	if r.Parent.RunID != "" {
		out.Parent = &RunParent{RunID: r.Parent.RunID, Step: r.Parent.Step, Attempt: r.Parent.Attempt}
	}
	return out
}

func stepsJSON(steps []*store.StepRow, attempts []*store.AttemptRow) []Step {
	out := make([]Step, len(steps))
	index := make(map[string]int, len(steps))
	for i, s := range steps {
		index[s.Name] = i
		out[i] = Step{
			Name: s.Name, Status: s.Status, Attempts: []Attempt{}, ExitCode: s.ExitCode, Error: s.Error,
			Outputs: s.Outputs, StartedAt: timePtr(s.StartedAt), FinishedAt: timePtr(s.FinishedAt),
		}
		if s.Parent != "" {
			out[i].Instance = &StepInstance{Of: s.Parent, Item: s.Item, Index: s.ItemIndex}
		}
	}
	for _, a := range attempts {
		i, ok := index[a.Step]
		if !ok {
			continue
		}
		out[i].Attempts = append(out[i].Attempts, Attempt{
			Attempt: a.Attempt, Status: a.Status, ExitCode: a.ExitCode, Error: a.Error,
			Removed: a.Removed, CleanupError: a.CleanupError, CleanupTries: a.CleanupTries, ImageDigest: a.ImageDigest,
			Executor: a.Executor, Handle: handleID(a.Handle), StartedAt: timePtr(a.StartedAt), FinishedAt: timePtr(a.FinishedAt),
		})
	}
	return out
}

// handleID is the executor's ID in a stored handle, or "".
func handleID(raw []byte) string {
	var h struct {
		ID string `json:"id"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return h.ID
}
