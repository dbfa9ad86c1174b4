// Package pipeline is baton's pipeline definition: the YAML format, its
// validation with file and line numbers, variable resolution and the step graph.
package pipeline

import "time"

// DefaultEnvPrefix is put before every run variable's name in a step's
// environment when a pipeline does not set env_prefix.
const DefaultEnvPrefix = "BATON_VAR_"

// Spec is one parsed and validated pipeline definition.
type Spec struct {
	Name        string
	Description string
	// EnvPrefix is never empty after Parse.
	EnvPrefix string
	// Params are in the order the file lists them.
	Params []Param
	// Vars are in the order the file lists them.
	Vars      []Var
	Schedules []Schedule
	// Triggers start runs from outside events, such as queue messages.
	Triggers []Trigger
	// Steps are the steps: then those of finally:, in the order the file
	// lists them, marked [Step.Finally].
	Steps []Step
	// Timeout limits the whole run, every step and retry included; zero
	// means none.
	Timeout time.Duration
	// Concurrency is the most runs of this pipeline that may run at once;
	// more wait, queued. Zero means no limit.
	Concurrency int
	// Executor names, by the server's registry name, where the steps run
	// that do not name their own; empty means the server's default.
	Executor string
	// Notify are the notifications sent when a run ends; see [Notify].
	Notify []Notify
}

// Param is a value a trigger may pass.
type Param struct {
	Name        string
	Required    bool
	Default     *string
	Description string
}

// Var is one run variable, a text/template evaluated at run start.
type Var struct {
	Name     string
	Template string
}

// Step is one container execution.
type Step struct {
	Name    string
	Image   string
	Command []string
	// Env keys may be PATH and the other plain names [IsReservedName]
	// reserves, which the file's author sets on purpose, but never start
	// with BATON_, LD_ or DYLD_.
	Env     map[string]string
	Timeout time.Duration // zero means no timeout
	Retry   Retry
	Pull    string // always | if-missing | never; "" after Parse is never seen: Parse sets if-missing
	// Needs are the steps this one waits for. After Parse it is never nil for
	// a step other than the first in listed order: a step without needs: waits
	// for the one listed before it.
	Needs []string
	// Secrets are delivered as files in [SecretDir], or in environment
	// variables when they ask for one.
	Secrets   []SecretRef
	Resources Resources
	// User runs the command as "uid", "uid:gid" or a name (also "name:group");
	// "" means the image's user.
	User string
	// ReadOnly mounts the container's root file system read-only.
	ReadOnly bool
	// CapAdd are Linux capabilities to add, upper case and without CAP_,
	// each listed once, e.g. NET_BIND_SERVICE. Whether they are allowed is
	// the server's policy.
	CapAdd []string
	// Executor names, by the server's registry name, where the step runs;
	// empty means the pipeline's executor.
	Executor string
	// If is a template evaluated when the step is ready (see
	// [Spec.Condition]); false skips the step, and the steps that need it
	// run all the same. Empty means always.
	If string
	// Finally marks a step of the pipeline's finally: list: it runs once
	// every other step has ended, however they ended, after the finally
	// steps it needs have ended, however they ended. [Spec.Steps] lists
	// finally steps last.
	Finally bool
	// ForEach, when set, makes the step run once per item; see [FanOut].
	ForEach *FanOut
	// Pipeline, when set, makes the step run another pipeline instead of
	// a container; see [SubPipeline].
	Pipeline *SubPipeline
	// Approval, when set, makes the step wait for a person's decision
	// instead of running a container; see [Approval].
	Approval *Approval
}
