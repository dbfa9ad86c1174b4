//go:build failpoint

// Package failpoint lets crash tests kill baton at a chosen point. The points
// exist only in binaries built with -tags failpoint; in every other build
// [Hit] is an empty function the compiler removes.
package failpoint

import (
	"os"
	"syscall"
)

// Enabled reports whether this binary was built with failpoints.
const Enabled = true

// Hit kills the process at once, as kill -9 would, when BATON_FAILPOINT names
// this point.
func Hit(name string) {
	if os.Getenv("BATON_FAILPOINT") == name {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal arrives; nothing after Hit may run
	}
}
