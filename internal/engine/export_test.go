package engine

// Crash stops e as a killed server stops: its runners end where they are,
// nothing more is written, and its leases are left to run out.
func Crash(e *Engine) {
	e.stop(errShutdown)
	e.wg.Wait()
}

// Drives reports whether e drives the run.
func Drives(e *Engine, runID string) bool { return e.drives(runID) }
