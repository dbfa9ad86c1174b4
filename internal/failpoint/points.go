package failpoint

// The points baton can be killed at, in the order a step passes them.
const (
	RunAccepted       = "run-accepted"       // the run is stored, not yet started
	ContainerCreated  = "container-created"  // the container exists, not yet started
	AttemptStarted    = "attempt-started"    // the container runs, its handle not yet stored
	CallbackCommitted = "callback-committed" // posted outputs are stored, not yet answered
	LogsArchived      = "logs-archived"      // the attempt exited and its logs are stored, its end is not
	BeforeRemove      = "before-remove"      // the attempt's end is stored, its container not removed
)

// NotificationQueued: a run ended and its notifications are in the outbox,
// none delivered yet. It is on the run's path, not a step's, so not in All.
const NotificationQueued = "notification-queued"

// All lists every point.
var All = []string{RunAccepted, ContainerCreated, AttemptStarted, CallbackCommitted, LogsArchived, BeforeRemove}
