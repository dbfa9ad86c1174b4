package engine

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/mask"
	"github.com/baton-dev/baton/internal/store"
)

// tailLines is how many of a step's last lines a failure reason quotes.
const tailLines = 5

// logSink archives an attempt's log lines as they arrive, in batches, and
// keeps the last few for failure reasons.
type logSink struct {
	r       *runner
	step    string
	attempt int
	logged  time.Time // lines up to this time were stored by an earlier life
	cancel  context.CancelFunc
	done    chan struct{} // closed when the executor's stream ended

	mu   sync.Mutex
	buf  []store.LogLine
	tail []string
}

// followLogs starts archiving the attempt's logs, if the executor can stream
// them. Lines up to logged are already stored and are skipped.
func (r *runner) followLogs(step string, attempt int, h *executor.Handle, logged time.Time) *logSink {
	s := &logSink{r: r, step: step, attempt: attempt, logged: logged, done: make(chan struct{})}
	f, ok := r.e.exec.(executor.LogFollower)
	if !ok {
		s.cancel = func() {}
		close(s.done)
		return s
	}
	ctx, cancel := context.WithCancel(r.e.ctx)
	s.cancel = cancel
	go func() {
		defer close(s.done)
		if err := f.FollowLogs(ctx, h, s.add); err != nil && ctx.Err() == nil {
			r.e.log.Warn("follow logs", "run_id", r.run.ID, "step", step, "err", err)
		}
	}()
	go s.flushEvery(r.e.cfg.LogFlush)
	return s
}

func (s *logSink) add(l executor.LogLine) {
	if !s.logged.IsZero() && !l.Time.After(s.logged) {
		return
	}
	if m, ok := s.r.e.maskers.Load(attemptKey{s.r.run.ID, s.step, s.attempt}); ok {
		l.Text = m.(*mask.Masker).String(l.Text)
	}
	s.mu.Lock()
	s.buf = append(s.buf, store.LogLine{Time: l.Time, Stream: l.Stream, Text: l.Text})
	s.tail = append(s.tail, l.Text)
	if len(s.tail) > tailLines {
		s.tail = s.tail[1:]
	}
	s.mu.Unlock()
}

func (s *logSink) flushEvery(d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.flush()
		}
	}
}

func (s *logSink) flush() {
	s.mu.Lock()
	lines := s.buf
	s.buf = nil
	s.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	err := s.r.e.st.LogAppend(context.WithoutCancel(s.r.ctx), &store.LogAppendParams{
		RunID: s.r.run.ID, Step: s.step, Attempt: s.attempt, Lines: lines,
	})
	if err != nil {
		s.r.e.log.Error("store logs", "run_id", s.r.run.ID, "step", s.step, "lines", len(lines), "err", err)
		return
	}
	s.r.e.changes.signal(s.r.run.ID)
}

// finish waits for the stream to end after the attempt exited, stores what is
// left and returns the last lines, joined.
func (s *logSink) finish() string {
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cancel()
		<-s.done
	}
	s.cancel()
	s.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, " | ")
}

// abandon stops following without losing what was already read.
func (s *logSink) abandon() {
	s.cancel()
	<-s.done
	s.flush()
}
