package pipeline

import (
	"slices"
	"strings"
)

// reservedNames are set by the container runtime or read by shells as they
// start, so a value from a trigger or another step's outputs could change
// what a step's command runs or where it looks.
var reservedNames = []string{"PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "HOSTNAME"}

// IsReservedName reports whether name must not be set in a step's
// environment from variables, params or outputs: PATH, HOME, SHELL, IFS, ENV,
// BASH_ENV, HOSTNAME; names starting with LD_ (read by the dynamic linker)
// or BATON_ (baton's own); and names that cannot be set safely at all: the
// empty name and names containing '=', a NUL byte or a newline. Letter case
// matters: "path" is not reserved.
//
// A step's own env: may still set PATH and the other plain names, because
// the pipeline's author writes them on purpose; see [Step.Env].
func IsReservedName(name string) bool {
	return reservedReason(name) != ""
}

// reservedReason says why [IsReservedName] is true for name, for messages,
// or "" when it is not.
func reservedReason(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case strings.ContainsAny(name, "=\x00\n"):
		return "the name contains =, a NUL byte or a newline"
	case strings.HasPrefix(name, "BATON_"):
		return "names starting with BATON_ are baton's own"
	case strings.HasPrefix(name, "LD_"):
		return "names starting with LD_ change how the dynamic linker loads every program"
	case slices.Contains(reservedNames, name):
		return name + " is set by the container or read by shells as they start"
	}
	return ""
}
