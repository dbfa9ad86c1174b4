//go:build !failpoint

// Package failpoint lets crash tests kill baton at a chosen point. The points
// exist only in binaries built with -tags failpoint; in every other build
// [Hit] is an empty function the compiler removes.
package failpoint

// Enabled reports whether this binary was built with failpoints.
const Enabled = false

// Hit does nothing in builds without the failpoint tag.
func Hit(string) {}
