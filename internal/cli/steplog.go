package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
)

// lockedWriter serializes writes from the goroutines that share a stream.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stepLines prints what steps print, each line after its step's name:
// "collect | line". Control characters are escaped, so a step cannot rewrite
// the reader's terminal.
type stepLines struct {
	w     io.Writer
	width int // of the longest step name, to align the bars
}

func newStepLines(w io.Writer, run *api.Run) *stepLines {
	s := &stepLines{w: w}
	for _, st := range run.Steps {
		s.width = max(s.width, len(st.Name))
	}
	return s
}

func (s *stepLines) print(step, text string) {
	fmt.Fprintf(s.w, "%-*s | %s\n", s.width, step, api.EscapeControl(text))
}

// storeLogs prints the new lines of a run's steps from a local store, as
// they come: baton exec polls it between progress updates.
type storeLogs struct {
	st    store.Store
	out   *stepLines
	after map[string]int64 // step → last printed sequence number
}

// printNew prints the lines stored since the last call for every step that
// has started.
func (l *storeLogs) printNew(ctx context.Context, run *api.Run) error {
	for _, s := range run.Steps {
		if s.Status == store.StepPending || s.Status == store.StepSkipped {
			continue
		}
		for {
			rows, err := l.st.LogList(ctx, &store.LogListParams{RunID: run.ID, Step: s.Name, AfterSeq: l.after[s.Name], Limit: 1000})
			if err != nil {
				return fmt.Errorf("read the logs of step %s: %w", s.Name, err)
			}
			for _, r := range rows {
				l.out.print(s.Name, r.Text)
				l.after[s.Name] = r.Seq
			}
			if len(rows) < 1000 {
				break
			}
		}
	}
	return nil
}

// apiLogs follows the logs of a run's steps through the API, one stream
// per step that has started, as run --watch does.
type apiLogs struct {
	ctx context.Context
	c   *api.Client
	out *stepLines
	// following holds, per step, a channel closed when its stream ended.
	following map[string]chan struct{}
}

// follow starts streams for the steps that started since the last call.
func (l *apiLogs) follow(run *api.Run) {
	for _, s := range run.Steps {
		if _, ok := l.following[s.Name]; ok || s.Status == store.StepPending || s.Status == store.StepSkipped {
			continue
		}
		done := make(chan struct{})
		l.following[s.Name] = done
		go func() {
			defer close(done)
			w := &prefixWriter{step: s.Name, out: l.out}
			if err := l.c.Logs(l.ctx, run.ID, s.Name, true, w); err != nil && l.ctx.Err() == nil {
				fmt.Fprintf(l.out.w, "baton: logs of step %s: %v\n", s.Name, err)
			}
			w.flush()
		}()
	}
}

// drain waits until the streams of the steps that have ended have printed
// their last lines, so a step's lines come before the line saying it ended.
func (l *apiLogs) drain(run *api.Run) {
	for _, s := range run.Steps {
		done, ok := l.following[s.Name]
		if !ok || !s.Status.Terminal() {
			continue
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		case <-l.ctx.Done():
		}
	}
}

// maxLogLine bounds the part of a streamed line kept before it is printed
// regardless.
const maxLogLine = 1 << 20

// prefixWriter takes the API's text log stream ("TIME STREAM TEXT" lines)
// and prints each line's text after its step's name.
type prefixWriter struct {
	step string
	out  *stepLines
	buf  []byte
	// cont: the buffer holds the rest of a line printed in part already.
	cont bool
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
		w.cont = false
	}
	if len(w.buf) > maxLogLine {
		w.flush()
		w.cont = true
	}
	return len(p), nil
}

func (w *prefixWriter) flush() {
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
}

func (w *prefixWriter) line(s string) {
	// Drop the time and stream words; keep the line whole if it lacks them.
	if _, rest, ok := strings.Cut(s, " "); ok && !w.cont {
		if _, text, ok := strings.Cut(rest, " "); ok {
			s = text
		}
	}
	w.out.print(w.step, s)
}
