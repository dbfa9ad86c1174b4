package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// reapTimeout bounds the wait for Chromium's processes to be gone.
const reapTimeout = 15 * time.Second

// stop closes the browser, kills whatever of it survives and fails t if a
// process using its profile is still there.
func (b *Browser) stop(t testing.TB, cancel, cancelAlloc context.CancelFunc) {
	t.Helper()
	b.stopped.Do(func() { b.stopNow(t, cancel, cancelAlloc) })
}

func (b *Browser) stopNow(t testing.TB, cancel, cancelAlloc context.CancelFunc) {
	t.Helper()
	// Gracefully first, so Chromium flushes and exits on its own; the
	// allocator's cancel then kills the process if it did not and waits.
	ctx, done := context.WithTimeout(b.ctx, 10*time.Second)
	_ = chromedp.Cancel(ctx)
	done()
	cancel()
	cancelAlloc()
	// Children (zygote, renderers, utility processes, crash handlers) can
	// outlive the main process, and one can fork as it dies; each names the
	// profile or the home in this browser's own directory. Done when a few
	// looks in a row find none.
	deadline := time.Now().Add(reapTimeout)
	for quiet := 0; quiet < 3; time.Sleep(20 * time.Millisecond) {
		pids := processesUsing(b.root)
		if len(pids) == 0 {
			quiet++
			continue
		}
		quiet = 0
		if time.Now().After(deadline) {
			t.Errorf("browsertest: chromium processes %v still run after %s", pids, reapTimeout)
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	b.sink.close()
	if t.Failed() {
		t.Logf("browsertest: chromium's output (last %d bytes):\n%s", maxTail, b.out.String())
	}
}

// failure is an error about the browser with the end of what it printed.
func (b *Browser) failure(format string, a ...any) error {
	return fmt.Errorf("browsertest: "+format+"\nchromium's output (last bytes):\n%s", append(a, b.out.String())...)
}

// processesUsing returns the processes whose command line names a path in
// dir. Chromium's children rewrite theirs into one string with spaces, so
// it is searched as bytes. A zombie has an empty command line: only
// processes that still run are listed.
func processesUsing(dir string) []int {
	want := []byte(filepath.Clean(dir) + "/")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(cmdline, want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// maxTail is how much of Chromium's output a failing test shows.
const maxTail = 8 << 10

// tail keeps the last maxTail bytes of the lines written to it, less
// Chromium's complaints that there is no D-Bus (there never is in a test),
// which would crowd out the rest.
type tail struct {
	mu   sync.Mutex
	buf  []byte
	line []byte // the unfinished last line
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		if l := w.line[:i+1]; !bytes.Contains(l, []byte(":ERROR:dbus/")) {
			w.buf = append(w.buf, l...)
		}
		w.line = w.line[i+1:]
	}
	if len(w.line) > maxTail { // a line without end
		w.buf = append(w.buf, w.line...)
		w.line = nil
	}
	if over := len(w.buf) - maxTail; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf) + string(w.line)
}
