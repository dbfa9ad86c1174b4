// Package testbin finds the host programs that tests run as steps on the
// process executor. Like the Docker tests, a test without them skips, unless
// BATON_TEST_DOCKER=1 (CI), where it fails: a green run means they ran.
package testbin

import (
	"os"
	"testing"
)

// Busybox returns the path of Debian's static busybox (busybox-static).
func Busybox(t testing.TB) string {
	t.Helper()
	if p := BusyboxPath(); p != "" {
		return p
	}
	if os.Getenv("BATON_TEST_DOCKER") == "1" {
		t.Fatal("busybox is missing: apt-get install busybox-static")
	}
	t.Skip("busybox is missing: apt-get install busybox-static")
	return ""
}

// BusyboxPath returns the path of busybox, or "" when it is not installed.
func BusyboxPath() string {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
