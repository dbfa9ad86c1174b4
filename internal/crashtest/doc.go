// Package crashtest holds crash and chaos tests of the baton binary: a server
// built with failpoints is killed at each point where a crash could lose or
// double work, or killed at random while runs flow in, and restarted on the
// same data; the tests then check that every run it accepted finishes once,
// with its variables, logs and containers as if nothing had happened.
//
// The package has no code of its own, only tests. Those that need Docker skip
// without an engine unless BATON_TEST_DOCKER=1.
package crashtest
