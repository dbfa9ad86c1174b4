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
	Steps     []Step
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

// Schedule is a cron trigger.
type Schedule struct {
	Cron   string
	Params map[string]string
}

// Step is one container execution.
type Step struct {
	Name    string
	Image   string
	Command []string
	Env     map[string]string
	Timeout time.Duration // zero means no timeout
	Retry   Retry
	Pull    string // always | if-missing | never; "" after Parse is never seen: Parse sets if-missing
	// Needs are the steps this one waits for. After Parse it is never nil for
	// a step other than the first in listed order: a step without needs: waits
	// for the one listed before it.
	Needs []string
}

// Retry is a step's retry policy.
type Retry struct {
	Limit   int           // extra attempts after the first
	Backoff time.Duration // wait before each retry
}
