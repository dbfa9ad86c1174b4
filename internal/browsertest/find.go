package browsertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// install is how to get what [Start] looks for.
const install = "DEBIAN_FRONTEND=noninteractive apt-get install -y chromium"

// errNoChromium is returned by [findChromium] when none is installed.
var errNoChromium = errors.New("chromium is missing: " + install + " (or set BATON_TEST_CHROMIUM to its path)")

// chromium returns the browser binary for t, skipping t without one unless
// BATON_TEST_BROWSER=1.
func chromium(t testing.TB) string {
	t.Helper()
	bin, err := findChromium(os.Getenv, debianChromium)
	switch {
	case err == nil:
		return bin
	case errors.Is(err, errNoChromium) && os.Getenv("BATON_TEST_BROWSER") != "1":
		t.Skip(err)
	default:
		t.Fatal(err)
	}
	return ""
}

// debianChromium is where Debian's chromium package puts the browser.
const debianChromium = "/usr/bin/chromium"

// findChromium returns $BATON_TEST_CHROMIUM, else system, else chromium on
// PATH. A BATON_TEST_CHROMIUM that is not an executable is an error of its
// own, never a skip: whoever set it wants the browser.
func findChromium(getenv func(string) string, system string) (string, error) {
	if p := getenv("BATON_TEST_CHROMIUM"); p != "" {
		if !executable(p) {
			return "", fmt.Errorf("BATON_TEST_CHROMIUM=%s is not an executable file: point it at chromium or unset it", p)
		}
		return p, nil
	}
	if executable(system) {
		return system, nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errNoChromium
}

// executable reports whether p is a regular file that someone may run.
func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
