// Package store defines baton's durable state: pipelines, runs, steps, attempts
// and logs. [Store] is the one interface every backend implements; each method
// is one transaction, so an acknowledged change survives a crash.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors every implementation maps its backend errors to.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the row is not in the state the change requires, for
	// instance a stale attempt reporting after a newer one started.
	ErrConflict = errors.New("conflict")
	// ErrExists: a row with that key already exists.
	ErrExists = errors.New("already exists")
	// ErrUnavailable: the store could not write now (a full disk, an I/O
	// error) and nothing was changed; the same call may succeed later.
	ErrUnavailable = errors.New("store cannot write now")
)

// RunStatus is where a run stands.
type RunStatus string

// Run statuses. A run is terminal once succeeded, failed or canceled.
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunCanceled  RunStatus = "canceled"
)

// Terminal reports whether a run in s can change no more.
func (s RunStatus) Terminal() bool {
	return s == RunSucceeded || s == RunFailed || s == RunCanceled
}

// StepStatus is where a step stands.
type StepStatus string

// Step statuses. A step is terminal once succeeded, failed, skipped or canceled.
const (
	StepPending   StepStatus = "pending"
	StepRunning   StepStatus = "running"
	StepRetrying  StepStatus = "retrying" // waiting for its backoff before the next attempt
	StepSucceeded StepStatus = "succeeded"
	StepFailed    StepStatus = "failed"
	StepSkipped   StepStatus = "skipped" // never ran because a step it needs did not succeed
	StepCanceled  StepStatus = "canceled"
)

// Terminal reports whether a step in s can change no more.
func (s StepStatus) Terminal() bool {
	switch s {
	case StepSucceeded, StepFailed, StepSkipped, StepCanceled:
		return true
	}
	return false
}

// Store is baton's durable state. Implementations are safe for concurrent use.
type Store interface {
	// PipelinePut stores a pipeline definition. If it equals the latest
	// revision, that revision is returned unchanged; otherwise a new revision
	// is created.
	PipelinePut(ctx context.Context, p *PipelinePutParams) (*PipelineRow, error)
	// PipelineGet returns one revision, or the latest when revision is 0.
	PipelineGet(ctx context.Context, name string, revision int) (*PipelineRow, error)
	// PipelineList returns the latest revision of every pipeline, by name.
	PipelineList(ctx context.Context) ([]*PipelineRow, error)

	// RunCreate inserts a run and its steps, all pending, in one transaction.
	// When another run has p.Key it inserts nothing and returns that run
	// with a [*RunKeyExistsError].
	RunCreate(ctx context.Context, p *RunCreateParams) (*RunRow, error)
	RunGet(ctx context.Context, id string) (*RunRow, error)
	// RunList returns runs newest first. A p.Params over the bounds of
	// [CheckRunList] is refused, and nothing is read.
	RunList(ctx context.Context, p *RunListParams) ([]*RunRow, error)
	// RunStats returns how the runs created within p's bounds stand,
	// one [RunDayStats] for each UTC day of creation and pipeline that has
	// runs, by day and then pipeline: how many are in each status, and
	// the 50th and 95th percentiles of the time the ended ones that had
	// started took. Every store counts with [RunStatsTally].
	RunStats(ctx context.Context, p *RunStatsParams) ([]*RunDayStats, error)
	// RunCount returns how many runs, over all runs, are in each of
	// statuses: every status asked for is in the map, 0 when no run is in
	// it; no statuses asks for each of [AllRunStatuses]. A status that is
	// none of them is refused ([CheckRunStatuses]).
	RunCount(ctx context.Context, statuses []RunStatus) (map[RunStatus]int, error)
	// RunSetStatus moves a run to a new status. A terminal run cannot move:
	// that is ErrConflict. Moving to a terminal status ends, in the same
	// transaction, every step of the run that has not ended (canceled) and
	// every attempt still running, so a run is never left half-recorded.
	RunSetStatus(ctx context.Context, p *RunSetStatusParams) error
	// RunRequestCancel records that a run is to be canceled, before anyone
	// acts on it, so that a restarted server goes on canceling it. It
	// returns the run; a terminal run is ErrConflict.
	RunRequestCancel(ctx context.Context, p *RunRequestCancelParams) (*RunRow, error)
	// RunPrune deletes the terminal runs that finished before p.Before,
	// with their steps, attempts and logs, and returns how many runs it
	// deleted. A run that has not finished is never deleted, nor one with
	// an attempt that left something not known to be removed. It deletes
	// too the schedule ticks recorded before p.Before, but each
	// schedule's latest, which catch-up counts from.
	RunPrune(ctx context.Context, p *RunPruneParams) (int, error)

	// RunClaim takes, for p.Owner until p.Until, the unfinished runs whose
	// lease has ended or that nobody holds (any lease with p.Steal), oldest
	// first: each claimed run's epoch goes up by one, which fences off the
	// server that held it before (see [ErrFenced]). It returns the claimed
	// runs with their new leases. Runs p.Owner holds already are not
	// claimed again.
	RunClaim(ctx context.Context, p *RunClaimParams) ([]*RunRow, error)
	// LeaseRenew extends, until p.Until, every lease p.Owner holds on an
	// unfinished run, ended or not, unless another server claimed the run
	// since; it returns the runs p.Owner still holds.
	LeaseRenew(ctx context.Context, p *LeaseRenewParams) ([]LeaseHeld, error)
	// LeaseRelease gives up p.Owner's leases on the runs named, as a
	// server does when it stops, so another may claim them at once. Runs
	// p.Owner does not hold are left as they are.
	LeaseRelease(ctx context.Context, p *LeaseReleaseParams) error

	// StepExpand makes the instances of a fan-out step, one pending step
	// row per item right after the step, and moves the step to running.
	// The step must be pending; else ErrConflict, and nothing changes.
	StepExpand(ctx context.Context, p *StepExpandParams) error

	// StepList returns a run's steps in listed order, the instances of a
	// fan-out step right after it, in item order.
	StepList(ctx context.Context, runID string) ([]*StepRow, error)
	// StepStart begins attempt p.Attempt of a step: the step must be pending
	// or retrying with p.Attempt-1 attempts made, else ErrConflict.
	StepStart(ctx context.Context, p *StepStartParams) error
	// StepSetHandle records the executor handle of a running attempt.
	StepSetHandle(ctx context.Context, p *StepSetHandleParams) error
	// StepOutputsAdd merges outputs posted by a running attempt into its
	// pending outputs. A finished or superseded attempt gets ErrConflict.
	StepOutputsAdd(ctx context.Context, p *StepOutputsAddParams) error
	// StepFinish ends the current attempt (if p.Attempt > 0) and sets the
	// step's status. Outputs are committed only with StepSucceeded.
	StepFinish(ctx context.Context, p *StepFinishParams) error
	// StepSetCleanup records how removing an attempt's container went.
	StepSetCleanup(ctx context.Context, p *StepSetCleanupParams) error

	// AttemptGet returns one attempt of a step.
	AttemptGet(ctx context.Context, runID, step string, attempt int) (*AttemptRow, error)
	// AttemptList returns every attempt of a run, by step and attempt.
	AttemptList(ctx context.Context, runID string) ([]*AttemptRow, error)
	// AttemptListUnremoved returns ended attempts that have a handle but are
	// not marked removed: removals a crash may have cut short.
	AttemptListUnremoved(ctx context.Context) ([]*AttemptRow, error)

	// ScheduleTick records that a schedule fired for one tick. It returns
	// false, and records nothing, when that tick was recorded before: a tick
	// fires once, whoever asks and however often.
	ScheduleTick(ctx context.Context, p *ScheduleTickParams) (bool, error)
	// ScheduleLastTick returns the latest recorded tick of a schedule; the
	// zero time when it never fired.
	ScheduleLastTick(ctx context.Context, pipeline, key string) (time.Time, error)
	// ScheduleTickSetOutcome records what came of a recorded tick. Only the
	// claim that recorded it ([ScheduleTickParams.Claim]) may, and only
	// once: a tick of another claim, or whose outcome is known already, is
	// ErrConflict and nothing changes; a tick not recorded is ErrNotFound.
	ScheduleTickSetOutcome(ctx context.Context, p *ScheduleTickOutcomeParams) error
	// ScheduleTickList returns a schedule's recorded ticks, newest tick
	// first; a tick whose outcome was never set is [TickUnknown].
	ScheduleTickList(ctx context.Context, p *ScheduleTickListParams) ([]*ScheduleTickRow, error)

	// SecretPut creates or replaces a secret. Value is ciphertext: the store
	// never sees a secret in clear.
	SecretPut(ctx context.Context, p *SecretPutParams) error
	// SecretGet returns one secret, ciphertext included.
	SecretGet(ctx context.Context, name string) (*SecretRow, error)
	// SecretList returns every secret by name, without values.
	SecretList(ctx context.Context) ([]*SecretRow, error)
	// SecretDelete removes a secret; ErrNotFound if there is none.
	SecretDelete(ctx context.Context, name string) error

	// TokenCreate stores an API token by the hash of its value. A token with
	// the same name, or the same hash, is ErrExists.
	TokenCreate(ctx context.Context, p *TokenCreateParams) (*TokenRow, error)
	// TokenGetByHash returns the token with that hash, revoked or not.
	TokenGetByHash(ctx context.Context, hash []byte) (*TokenRow, error)
	// TokenList returns every token by name, hashes included.
	TokenList(ctx context.Context) ([]*TokenRow, error)
	// TokenRevoke marks a token revoked; ErrNotFound if there is none,
	// ErrConflict if it was revoked already.
	TokenRevoke(ctx context.Context, name string, now time.Time) error

	// AuditAppend records one change made through the API.
	AuditAppend(ctx context.Context, e *AuditEntry) error
	// AuditList returns entries newest first.
	AuditList(ctx context.Context, p *AuditListParams) ([]*AuditEntry, error)

	// AttemptSetImage records the image an attempt really ran, by digest.
	AttemptSetImage(ctx context.Context, runID, step string, attempt int, digest string) error

	// LogAppend stores lines an attempt printed.
	LogAppend(ctx context.Context, p *LogAppendParams) error
	// LogList returns stored lines of one step, oldest first.
	LogList(ctx context.Context, p *LogListParams) ([]*LogRow, error)

	// PipelineDelete removes a pipeline: it leaves [Store.PipelineList] and
	// [Store.PipelineGet] of the latest revision, and its schedules' ticks
	// and pause are forgotten. Its revisions stay readable by number, for
	// the runs that pinned them, and a later [Store.PipelinePut] of the name
	// starts again at the next revision number. ErrNotFound if there is no
	// such pipeline; an [UnfinishedRunsError] while it has queued or running
	// runs, and then nothing changes.
	PipelineDelete(ctx context.Context, p *PipelineDeleteParams) error
	// SchedulePauseSet pauses or resumes every schedule of a pipeline. A
	// pause lasts until resumed, across restarts and new revisions; pausing
	// again keeps the first time. ErrNotFound if there is no such pipeline.
	SchedulePauseSet(ctx context.Context, p *SchedulePauseSetParams) error
	// SchedulePauseList returns the pipelines whose schedules are paused,
	// by name.
	SchedulePauseList(ctx context.Context) ([]*SchedulePauseRow, error)
	// TokenRevokeKeeping revokes a token as [Store.TokenRevoke] does, unless
	// it is the last unrevoked token of role p.Keep: that is [ErrLastToken],
	// and nothing changes. The check and the change are one transaction.
	TokenRevokeKeeping(ctx context.Context, p *TokenRevokeKeepingParams) error

	// Approvals are the decisions steps with an approval wait for.
	Approvals

	Close() error
}

// PipelinePutParams are the arguments of [Store.PipelinePut].
type PipelinePutParams struct {
	Name string
	// Spec is the definition's source text, stored as given.
	Spec []byte
	Now  time.Time
}

// PipelineRow is one stored revision of a pipeline.
type PipelineRow struct {
	Name      string
	Revision  int
	Spec      []byte
	CreatedAt time.Time
}

// RunCreateParams are the arguments of [Store.RunCreate].
type RunCreateParams struct {
	ID       string
	Pipeline string
	Revision int
	Params   map[string]string
	// Vars are the variables the pipeline defined at run start.
	Vars     map[string]string
	Executor string
	// Steps are the step names in listed order.
	Steps []string
	// Done are steps that start succeeded, with these outputs: a re-run keeps
	// what the steps before its starting point produced. Their rows have no
	// attempts.
	Done map[string]map[string]string
	// RetryOf is the run this one re-runs; empty for a new run.
	RetryOf string
	Now     time.Time
	// Owner, when set, holds the new run's lease until LeaseUntil, at
	// epoch 1: the server that accepted it drives it.
	Owner      string
	LeaseUntil time.Time
	// Key, when not empty, is what started the run, unique among runs: a
	// trigger that may deliver one event twice (a queue message, by its
	// id) names the event here, and a second RunCreate with the same Key
	// creates nothing and is a [*RunKeyExistsError] with the first run.
	Key string
	// Parent, when set, is the step attempt that started the run.
	Parent RunParent
}

// RunParent is the step attempt of another run that started a run: a
// sub-pipeline. The zero value means none.
type RunParent struct {
	RunID   string
	Step    string
	Attempt int
}

// RunRow is one run.
type RunRow struct {
	ID         string
	Pipeline   string
	Revision   int
	Status     RunStatus
	Params     map[string]string
	Vars       map[string]string
	Executor   string
	Error      string
	RetryOf    string
	CreatedAt  time.Time
	StartedAt  time.Time // zero until running
	FinishedAt time.Time // zero until terminal
	// CancelRequestedAt is when a cancel was asked for; zero if never.
	CancelRequestedAt time.Time
	// Lease says which server drives the run; see [Store.RunClaim].
	Lease Lease
	// Parent is the step attempt that started the run, if one did.
	Parent RunParent
}

// RunListParams filter [Store.RunList]. Zero fields do not filter.
type RunListParams struct {
	Pipeline string
	Statuses []RunStatus
	Limit    int // 0 means 100
	// Key finds the run created with that [RunCreateParams.Key].
	Key string
	// Before, when set, is a cursor: only runs listed after the run with
	// this ID (older, or as old with a smaller ID) are returned, so that
	// pages follow each other however many runs arrive meanwhile. A run
	// that does not exist gives ErrNotFound.
	Before string
	// Since and Until, when set, bound the runs' creation time: Since <=
	// created < Until.
	Since, Until time.Time
	// Params, when set, keeps only the runs whose params hold every one
	// of these names, each with exactly its value ("" too); see
	// [CheckRunList] for its bounds.
	Params map[string]string
}

// LeftoverStepError is the error [Store.RunSetStatus] gives a step that
// had not ended when its run did, unless the step had one already.
const LeftoverStepError = "the run ended before the step did"

// RunSetStatusParams are the arguments of [Store.RunSetStatus].
type RunSetStatusParams struct {
	ID     string
	Status RunStatus
	Error  string
	Now    time.Time
	// Epoch, when not 0, fences the write: it is [ErrFenced], and changes
	// nothing, unless the run's lease epoch is still Epoch.
	Epoch int64
	// Gate, when set, admits a queued run to running only if the gate of
	// its pipeline has room and no older run of the pipeline is queued:
	// else [ErrBusy], and nothing changes.
	Gate *Gate
	// Notify are the run's notifications, queued in the outbox (see
	// [Outbox]) in the same transaction, only when the run moves to a
	// terminal status; ignored otherwise.
	Notify []Notification
}

// StepRow is one step of a run and where its latest attempt stands.
type StepRow struct {
	RunID    string
	Name     string
	Index    int
	Status   StepStatus
	Attempts int // attempts started so far
	ExitCode *int
	Error    string
	// Outputs are committed outputs; set only once the step succeeded.
	Outputs    map[string]string
	StartedAt  time.Time
	FinishedAt time.Time
	// Parent, Item and ItemIndex are set on an instance of a fan-out step
	// (see [Store.StepExpand]): the step it is an instance of, its item,
	// and the item's place among them. ItemIndex is -1 on other steps.
	Parent    string
	Item      string
	ItemIndex int
}

// StepStartParams are the arguments of [Store.StepStart].
type StepStartParams struct {
	RunID   string
	Name    string
	Attempt int
	// TokenHash is the hash of the attempt's callback token.
	TokenHash []byte
	Now       time.Time
	// Sealed is what the attempt starts with (its token and secrets),
	// sealed by the engine; the store keeps it as given, with the attempt.
	Sealed []byte
	// Executor is the registry name of the executor the attempt runs on.
	Executor string
	// Epoch, when not 0, fences the write: it is [ErrFenced], and changes
	// nothing, unless the run's lease epoch is still Epoch.
	Epoch int64
	// MaxRunning, when not 0, starts the attempt only if fewer attempts
	// than that are running in the store, on any run: else [ErrBusy], and
	// nothing changes.
	MaxRunning int
}

// StepSetHandleParams are the arguments of [Store.StepSetHandle].
type StepSetHandleParams struct {
	RunID   string
	Name    string
	Attempt int
	// Handle is the executor handle, serialized.
	Handle []byte
	// Epoch, when not 0, fences the write: it is [ErrFenced], and changes
	// nothing, unless the run's lease epoch is still Epoch.
	Epoch int64
}

// StepOutputsAddParams are the arguments of [Store.StepOutputsAdd].
type StepOutputsAddParams struct {
	RunID   string
	Name    string
	Attempt int
	Outputs map[string]string
}

// StepFinishParams are the arguments of [Store.StepFinish].
type StepFinishParams struct {
	RunID string
	Name  string
	// Attempt is the attempt that ended; 0 for a step finished without one
	// (skipped, or canceled before it started).
	Attempt int
	Status  StepStatus
	// ExitCode is nil when the attempt never exited on its own.
	ExitCode *int
	Error    string
	// Outputs are committed when Status is StepSucceeded.
	Outputs map[string]string
	// Handle, when set, is recorded on the attempt too, in case the
	// attempt ended before [Store.StepSetHandle] did.
	Handle []byte
	Now    time.Time
	// Epoch, when not 0, fences the write: it is [ErrFenced], and changes
	// nothing, unless the run's lease epoch is still Epoch.
	Epoch int64
}

// StepSetCleanupParams are the arguments of [Store.StepSetCleanup].
type StepSetCleanupParams struct {
	RunID   string
	Name    string
	Attempt int
	Removed bool
	Error   string // last removal error, empty once removed
	// Tries is how many removals were tried so far.
	Tries int
	// Epoch, when not 0, fences the write: it is [ErrFenced], and changes
	// nothing, unless the run's lease epoch is still Epoch.
	Epoch int64
}

// AttemptRow is one try of a step.
type AttemptRow struct {
	RunID     string
	Step      string
	Attempt   int
	Status    StepStatus // running, then succeeded, failed or canceled
	TokenHash []byte
	Handle    []byte
	ExitCode  *int
	Error     string
	// Outputs are what the attempt posted through the callback so far.
	Outputs      map[string]string
	Removed      bool
	CleanupError string
	CleanupTries int
	// ImageDigest is the image the attempt ran, by digest, when known.
	ImageDigest string
	// Executor is the registry name of the executor that ran the attempt.
	Executor   string
	StartedAt  time.Time
	FinishedAt time.Time
	// Sealed is what [StepStartParams.Sealed] gave while the attempt runs;
	// nil when nothing was, and once the attempt ended: nothing needs it
	// then, and a deleted secret must not outlive the attempts that had it.
	Sealed []byte
	// LogBytes is how many bytes of text the attempt's stored lines hold.
	LogBytes int64
	// LogDropped is how many bytes of the attempt's output were not stored
	// because its log reached its cap; 0 while the log is whole.
	LogDropped int64
}

// ScheduleTickParams are the arguments of [Store.ScheduleTick].
type ScheduleTickParams struct {
	Pipeline string
	// Key names the schedule within its pipeline, e.g. its cron expression.
	Key   string
	Tick  time.Time
	RunID string // the run the tick started, if any
	Now   time.Time
	// Claim, when set, is a value only the caller knows (a random one
	// each call) that lets it, and no one else, set the tick's outcome
	// with [Store.ScheduleTickSetOutcome].
	Claim string
	// CatchUp marks a tick fired late, by the schedule's catch-up policy.
	CatchUp bool
}

// LogAppendParams are the arguments of [Store.LogAppend].
type LogAppendParams struct {
	RunID   string
	Step    string
	Attempt int
	Lines   []LogLine
	// Dropped, when positive, is how many bytes of the attempt's output
	// were not stored so far; it is recorded as [AttemptRow.LogDropped]
	// with these lines.
	Dropped int64
	// Epoch, when not 0, fences the write: it is [ErrFenced], and changes
	// nothing, unless the run's lease epoch is still Epoch.
	Epoch int64
}

// LogLine is one line to store.
type LogLine struct {
	Time   time.Time
	Stream string
	Text   string
}

// LogListParams are the arguments of [Store.LogList].
type LogListParams struct {
	RunID    string
	Step     string
	AfterSeq int64 // return lines with a larger sequence number
	Limit    int   // 0 means 10,000
}

// LogRow is one stored line.
type LogRow struct {
	Seq     int64
	Attempt int
	Time    time.Time
	Stream  string
	Text    string
}

// SecretPutParams are the arguments of [Store.SecretPut].
type SecretPutParams struct {
	Name string
	// Value is the sealed (encrypted and authenticated) secret.
	Value []byte
	// KeyID names the key that sealed it, so rotation can find what is left.
	KeyID string
	Now   time.Time
}

// SecretRow is one stored secret.
type SecretRow struct {
	Name      string
	Value     []byte // sealed; empty in SecretList
	KeyID     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TokenCreateParams are the arguments of [Store.TokenCreate].
type TokenCreateParams struct {
	Name string
	Role string
	// Hash is the SHA-256 of the token's value; the value itself is shown
	// once to whoever created it and never stored.
	Hash []byte
	Now  time.Time
}

// TokenRow is one API token.
type TokenRow struct {
	Name      string
	Role      string
	Hash      []byte
	CreatedAt time.Time
	RevokedAt time.Time // zero while valid
}

// AuditEntry is one change made through the API.
type AuditEntry struct {
	Seq    int64 // set by the store
	Time   time.Time
	Actor  string // the token's name
	Action string // e.g. "pipeline.apply", "run.create", "secret.set"
	Target string // what it acted on: a pipeline, run, secret or token name
	Detail string // a short, secret-free description
}

// AuditListParams filter [Store.AuditList].
type AuditListParams struct {
	Limit int // 0 means 100
}

// RunRequestCancelParams are the arguments of [Store.RunRequestCancel].
type RunRequestCancelParams struct {
	ID  string
	Now time.Time
}

// RunPruneParams are the arguments of [Store.RunPrune].
type RunPruneParams struct {
	// Before: terminal runs that finished before this time are deleted.
	Before time.Time
}

// PipelineDeleteParams are the arguments of [Store.PipelineDelete].
type PipelineDeleteParams struct {
	Name string
	Now  time.Time
}

// MaxUnfinishedRunsNamed bounds the runs an [UnfinishedRunsError] names.
const MaxUnfinishedRunsNamed = 10

// UnfinishedRunsError is the refusal of [Store.PipelineDelete] while the
// pipeline has runs that have not ended. It is an [ErrConflict].
type UnfinishedRunsError struct {
	Pipeline string
	// Runs are the unfinished runs' IDs, oldest first; at most
	// [MaxUnfinishedRunsNamed].
	Runs []string
}

func (e *UnfinishedRunsError) Error() string {
	return fmt.Sprintf("pipeline %q has unfinished runs %s", e.Pipeline, strings.Join(e.Runs, ", "))
}

// Unwrap makes the error an [ErrConflict].
func (e *UnfinishedRunsError) Unwrap() error { return ErrConflict }

// SchedulePauseSetParams are the arguments of [Store.SchedulePauseSet].
type SchedulePauseSetParams struct {
	Pipeline string
	// Paused pauses the pipeline's schedules; false resumes them.
	Paused bool
	Now    time.Time
}

// SchedulePauseRow is a pipeline whose schedules are paused.
type SchedulePauseRow struct {
	Pipeline string
	PausedAt time.Time
}

// ErrLastToken is the refusal of [Store.TokenRevokeKeeping]: the token is
// the last unrevoked one of its role. It is an [ErrConflict].
var ErrLastToken = fmt.Errorf("it is the last unrevoked token of its role: %w", ErrConflict)

// TokenRevokeKeepingParams are the arguments of [Store.TokenRevokeKeeping].
type TokenRevokeKeepingParams struct {
	Name string
	// Keep is the role of which one unrevoked token must remain.
	Keep string
	Now  time.Time
}
