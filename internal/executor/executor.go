// Package executor defines how baton runs one step attempt: the [Executor]
// interface every backend implements, the [Spec] it is given, the persistable
// [Handle] it returns and the [Result] of a finished attempt.
package executor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Labels every executor attaches to what it creates, so that what baton owns
// can be found again after a restart.
const (
	LabelManaged = "dev.baton.managed"
	LabelRun     = "dev.baton.run"
	LabelStep    = "dev.baton.step"
	LabelAttempt = "dev.baton.attempt"
	// LabelInstance names the baton installation (its data directory) that
	// owns a container, so one installation never removes another's.
	LabelInstance = "dev.baton.instance"
)

// EnvOutput names the environment variable that holds the path of the output
// file inside the step's environment. Executors set it; the engine does not.
const EnvOutput = "BATON_OUTPUT"

// Pull policies for images.
const (
	PullAlways    = "always"
	PullIfMissing = "if-missing"
	PullNever     = "never"
)

// Spec is everything an executor needs to start one step attempt.
type Spec struct {
	RunID   string
	Step    string
	Attempt int

	// Image is the container image; empty for steps meant only for the
	// process executor.
	Image string
	// Command is argv; it is never passed through a shell by baton.
	Command []string
	// Env is the complete environment of the step except [EnvOutput],
	// [EnvSecretsDir] and the token's [EnvTokenFile] or [EnvToken], which
	// the executor adds because only it knows where the files live.
	Env map[string]string
	// SecretEnv names the entries of Env that hold secrets the step asked
	// for as variables. Executors whose engine shows a container's
	// environment keep these out of it where they can (Azure's secure
	// values).
	SecretEnv []string
	// Pull is one of [PullAlways], [PullIfMissing], [PullNever]; empty means
	// [PullIfMissing].
	Pull string

	// Secrets are files the step finds in [SecretsDir], by name. Executors
	// must keep them off persistent disk (tmpfs) and remove them with the
	// attempt.
	Secrets map[string][]byte
	// Limits bound what the attempt may use; zero fields mean the
	// executor's defaults.
	Limits Limits
	// User runs the command as "uid[:gid]" or a name; empty: the image's.
	User string
	// ReadOnlyRoot makes the container's root file system read-only.
	ReadOnlyRoot bool
	// CapAdd are Linux capabilities added back after all are dropped.
	CapAdd []string
	// Timeout is the step's timeout, zero for none. The engine enforces it
	// itself; an executor may give the engine a backstop from it that holds
	// while baton is down, such as a Job's deadline.
	Timeout time.Duration
	// Token is the attempt's callback token. It is not in Env: executors
	// deliver it as a file named by [EnvTokenFile] wherever they can, so it
	// stays out of the engine's record of the container, and as [EnvToken]
	// only where no file can be delivered.
	Token string
}

// Variables through which a step finds its callback token.
const (
	EnvToken     = "BATON_TOKEN"
	EnvTokenFile = "BATON_TOKEN_FILE"
)

// TokenFile is the name of the token's file in the attempt's secrets
// directory. Secret names cannot start with a dot (see [CheckSecretNames]),
// so it never collides with a secret, and a plain ls does not list it.
const TokenFile = ".baton-token"

// Slug names the attempt as run-step-attempt in characters safe for
// container names and file names, at most max bytes long.
func (s *Spec) Slug(max int) string {
	name := fmt.Sprintf("%s-%s-%d", s.RunID, s.Step, s.Attempt)
	name = unsafeName.ReplaceAllString(name, "-")
	if len(name) > max {
		name = name[:max]
	}
	return name
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// SecretsDir is where a step finds its secret files.
const SecretsDir = "/run/secrets"

// Limits bound an attempt's resources.
type Limits struct {
	MemoryBytes int64
	PIDs        int64
	NanoCPUs    int64 // 1e9 is one CPU
}

// Handle identifies a started attempt. It is plain data so the engine can
// persist it and a restarted server can re-attach.
type Handle struct {
	// Executor is the name of the executor that made the handle.
	Executor string `json:"executor"`
	// ID is the executor's own identifier: a container ID, a PID.
	ID string `json:"id"`
	// Dir is executor-private state, such as a scratch directory.
	Dir string `json:"dir,omitempty"`
}

// Result is how an attempt ended.
type Result struct {
	ExitCode int
	// OOMKilled is true when the kernel killed the step for memory.
	OOMKilled bool
	// Output is the content of the step's output file when it exited; nil if
	// the step wrote none. Executors read at most contract.MaxInputBytes+1
	// bytes of it, so a larger file is seen to be over the limit without
	// being loaded.
	Output []byte
	// OutputError, when set, says the output file was there but not read:
	// it was not a regular file (a link, a directory, a pipe, a device) or
	// reading it took too long. Output is then nil. The message names what
	// was wrong and quotes nothing the file held; the attempt fails with it.
	OutputError error
	// FinishedAt is when the attempt exited, as the executor saw it.
	FinishedAt time.Time
	// ImageDigest is the image the attempt ran, by content digest, when
	// the executor knows it.
	ImageDigest string
}

// Executor runs step attempts. Implementations must be safe for concurrent use.
type Executor interface {
	// Name is the executor's registry name, e.g. "docker".
	Name() string
	// Start launches the attempt and returns once it is running. A failure
	// after something was created still returns a non-nil handle, so the
	// caller can remove it.
	Start(ctx context.Context, spec *Spec) (*Handle, error)
	// Wait blocks until the attempt exits and returns how it ended.
	Wait(ctx context.Context, h *Handle) (*Result, error)
	// Stop asks the attempt to end, and kills it after grace.
	Stop(ctx context.Context, h *Handle, grace time.Duration) error
	// Remove deletes everything the attempt created. It is idempotent: removing
	// what is already gone is not an error.
	Remove(ctx context.Context, h *Handle) error
}

// Checker is implemented by executors that can tell from a step alone
// that they cannot run it, such as one whose user is a name where the
// engine needs a numeric uid. The engine asks when a pipeline is applied,
// so such a step is refused then, with the reason, and not when it runs.
type Checker interface {
	// CheckSpec returns the error Start would refuse spec with before
	// making anything, or nil. spec holds what a pipeline fixes: the step's
	// name, image, command, pull policy, user, root file system,
	// capabilities, limits and timeout, and its secrets by name without
	// their values; its run ID, environment and token are not set.
	CheckSpec(spec *Spec) error
}

// LogLine is one line a step printed.
type LogLine struct {
	Time   time.Time
	Stream string // "stdout" or "stderr"
	Text   string
	// Partial says the line was longer than the executor reads at once and
	// goes on in the next LogLine of the same stream.
	Partial bool
}

// LogFollower is implemented by executors that can stream an attempt's logs.
type LogFollower interface {
	// FollowLogs calls fn for every line the attempt prints, from its start,
	// and returns when the attempt's output ends or ctx is done.
	FollowLogs(ctx context.Context, h *Handle, fn func(LogLine)) error
}

// Owned is an attempt's leftovers an executor found: what a [Lister] returns.
type Owned struct {
	Handle  *Handle
	RunID   string
	Step    string
	Attempt int
}

// Lister is implemented by executors that can find everything they created,
// including what an earlier life of the server started, by the labels above.
type Lister interface {
	ListOwned(ctx context.Context) ([]Owned, error)
}

// ErrImageNotFound is returned by Start when the image is missing and the
// pull policy forbids fetching it, or the registry or engine says it does
// not exist. It is not worth retrying.
var ErrImageNotFound = errors.New("image not found")

// ErrUnavailable is returned by Start when something the attempt needs
// could not be reached, such as a registry that does not answer (DNS, a
// refused connection, a timeout): a transient failure, worth retrying.
var ErrUnavailable = errors.New("unavailable")

// ErrNotFound is returned by Wait, Stop and FollowLogs when the handle names
// nothing that exists, such as an attempt already removed.
var ErrNotFound = errors.New("attempt not found")

// ErrLost is wrapped by Wait's error when the attempt is gone for good
// while the engine itself still answers, as when its node left a cluster:
// waiting longer cannot bring it back, so the attempt fails at once and
// may be retried.
var ErrLost = errors.New("attempt lost")

// ErrNeverStarted is returned by Wait for an attempt that was created but
// never started, as when baton stopped between the two: the step's command
// never ran, so it may be started afresh.
var ErrNeverStarted = errors.New("attempt was created but never started")
