package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/mask"
	"github.com/baton-dev/baton/internal/store"
)

const (
	// tailLines is how many of a step's last lines a failure reason quotes.
	tailLines = 5
	// tailLineMax bounds each quoted line, so a reason stays readable.
	tailLineMax = 200
	// maxPiece bounds a stored line: longer ones are stored in pieces, as
	// executors deliver them.
	maxPiece = 64 << 10
	// drainIdle is how long, once an attempt has exited, its log stream may
	// deliver nothing before baton stops reading it. A stream that still
	// delivers is read to its end, however long it is.
	drainIdle = 10 * time.Second
)

// logSink archives an attempt's log lines as they arrive, in batches, and
// keeps the last few for failure reasons.
//
// Each stream goes through its own [mask.Writer], so a secret split across
// two pieces of a long line ([executor.LogLine.Partial]) is masked still.
//
// What is stored is bounded by the engine's log cap: the first part of the
// output, then, if it goes on past the cap, a line saying how much was cut
// and the last lines. Nothing is dropped without that line, and the
// attempt records how many bytes were dropped.
type logSink struct {
	r       *runner
	step    string
	attempt int
	logged  time.Time // lines up to this time were stored by an earlier life
	cancel  context.CancelFunc
	done    chan struct{} // closed when the executor's stream ended
	// received counts the bytes delivered so far, to tell a stream that is
	// being drained from one that is stuck.
	received atomic.Int64
	// flushing makes flushes one at a time, so batches are stored in
	// order, and the last flush waits for one still being retried.
	flushing sync.Mutex

	// wake tells flushEvery that buf has lines.
	wake chan struct{}

	mu      sync.Mutex
	masker  *mask.Masker
	streams map[string]*streamLines
	buf     []store.LogLine // lines to store at the next flush
	tail    []store.LogLine // the last lines, for failure reasons
	// headCap and tailCap split the log cap: up to headCap bytes are
	// stored as they come; past it, up to tailCap bytes of the newest
	// lines are kept in ring and stored when the stream ends.
	headCap, tailCap int64
	stored           int64 // bytes of text stored, or in buf
	cut              bool  // the head is full
	ring             []store.LogLine
	ringBytes        int64
	dropped          int64 // bytes of text neither stored nor in ring
	unmasked         bool  // no masker: lines are dropped, not stored
}

// followLogs starts archiving the attempt's logs, if the executor can stream
// them. Lines up to logged are already stored and are skipped.
func (r *runner) followLogs(step string, attempt int, h *executor.Handle, logged time.Time) *logSink {
	s := r.newLogSink(step, attempt, logged)
	x, _ := r.e.owner(h) // nil for a handle of no executor of this engine's: nothing to follow
	f, ok := x.(executor.LogFollower)
	if !ok {
		s.cancel = func() {}
		close(s.done)
		return s
	}
	ctx, cancel := context.WithCancel(r.e.ctx)
	s.cancel = cancel
	go func() {
		defer close(s.done)
		if err := f.FollowLogs(ctx, native(h, x), s.add); err != nil && ctx.Err() == nil {
			r.e.log.Warn("follow logs", "run_id", r.run.ID, "step", step, "err", err)
		}
	}()
	go s.flushEvery(r.e.cfg.LogFlush)
	return s
}

// newLogSink returns a sink for the attempt's lines, not yet fed.
func (r *runner) newLogSink(step string, attempt int, logged time.Time) *logSink {
	logCap := r.e.cfg.LogCap
	s := &logSink{
		r: r, step: step, attempt: attempt, logged: logged, done: make(chan struct{}),
		wake: make(chan struct{}, 1), streams: make(map[string]*streamLines),
		tailCap: LogTailBytes(logCap),
	}
	s.headCap = logCap - s.tailCap
	if m, ok := r.e.maskers.Load(attemptKey{r.run.ID, step, attempt}); ok {
		s.masker = m.(*mask.Masker)
	}
	if !logged.IsZero() {
		// An earlier life stored part of the log: the cap counts it.
		if a, err := r.e.st.AttemptGet(context.WithoutCancel(r.ctx), r.run.ID, step, attempt); err == nil {
			s.stored = a.LogBytes
			s.cut = s.stored >= s.headCap
		}
	}
	return s
}

// streamLines turns one stream's masked bytes back into lines.
type streamLines struct {
	s       *logSink
	name    string
	in      io.WriteCloser // what add writes to: a mask.Writer over this
	now     time.Time      // time of the piece being written
	pending []byte         // the start of a line not yet ended
	started time.Time      // time of pending's first piece
}

func (s *logSink) stream(name string) *streamLines {
	sl, ok := s.streams[name]
	if !ok {
		sl = &streamLines{s: s, name: name}
		sl.in = nopCloser{sl}
		if s.masker != nil {
			sl.in = s.masker.Writer(sl)
		}
		s.streams[name] = sl
	}
	return sl
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Write takes masked bytes and emits every line they end. s.mu is held.
func (sl *streamLines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(sl.pending) == 0 {
			sl.started = sl.now
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			sl.pending = append(sl.pending, p...)
			for len(sl.pending) > maxPiece {
				sl.s.emit(sl.name, sl.started, string(sl.pending[:maxPiece]))
				sl.pending = append(sl.pending[:0], sl.pending[maxPiece:]...)
				sl.started = sl.now
			}
			break
		}
		sl.pending = append(sl.pending, p[:i]...)
		sl.emitPending()
		p = p[i+1:]
	}
	return n, nil
}

// emitPending emits the line, or the piece of one, held so far.
func (sl *streamLines) emitPending() {
	for len(sl.pending) > maxPiece {
		sl.s.emit(sl.name, sl.started, string(sl.pending[:maxPiece]))
		sl.pending = sl.pending[maxPiece:]
	}
	sl.s.emit(sl.name, sl.started, string(sl.pending))
	sl.pending = sl.pending[:0]
}

// add takes one line, or piece of a line, from the executor.
func (s *logSink) add(l executor.LogLine) {
	s.received.Add(int64(len(l.Text)) + 1)
	if !s.logged.IsZero() && !l.Time.After(s.logged) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.masker == nil {
		// Every attempt path fixes its masks before following logs; if
		// none is found, output stops rather than the masking.
		if !s.unmasked {
			s.unmasked = true
			s.emit("stderr", l.Time, "baton: this attempt's log is not stored: what it must mask is unknown")
		}
		s.dropped += int64(len(l.Text)) + 1
		return
	}
	sl := s.stream(l.Stream)
	sl.now = l.Time
	_, _ = io.WriteString(sl.in, l.Text)
	if !l.Partial {
		_, _ = io.WriteString(sl.in, "\n")
	} else if len(sl.pending) > 0 {
		// Store the piece as its own line, as it came; the bytes the
		// mask holds back, if any, begin the next.
		sl.s.emit(sl.name, sl.started, string(sl.pending))
		sl.pending = sl.pending[:0]
	}
}

// emit stores a line as far as the cap allows, and remembers it for
// failure reasons. s.mu is held.
func (s *logSink) emit(stream string, t time.Time, text string) {
	line := store.LogLine{Time: t, Stream: stream, Text: text}
	s.tail = append(s.tail, line)
	if len(s.tail) > tailLines {
		s.tail = s.tail[1:]
	}
	n := int64(len(text))
	if !s.cut && s.stored+n <= s.headCap {
		s.buf = append(s.buf, line)
		s.stored += n
		select {
		case s.wake <- struct{}{}:
		default:
		}
		return
	}
	s.cut = true
	s.ring = append(s.ring, line)
	s.ringBytes += n
	for s.ringBytes > s.tailCap && len(s.ring) > 0 {
		s.ringBytes -= int64(len(s.ring[0].Text))
		s.dropped += int64(len(s.ring[0].Text))
		s.r.e.cfg.Metrics.LogBytesDropped.Add(float64(len(s.ring[0].Text)))
		s.ring = s.ring[1:]
	}
}

// flushEvery stores new lines as they come, at most once every d: a line
// after a quiet spell is stored (and shown to followers) at once, a burst
// waits for the rest of d and is stored as one batch.
func (s *logSink) flushEvery(d time.Duration) {
	var last time.Time
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		if wait := d - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-s.done:
				t.Stop()
				return
			case <-t.C:
			}
		}
		s.flush(0)
		last = time.Now()
	}
}

// flush stores the lines gathered since the last flush; dropped, if
// positive, is recorded on the attempt with them. The store is tried until
// it takes them or the engine stops (see durable).
func (s *logSink) flush(dropped int64) {
	s.flushing.Lock()
	defer s.flushing.Unlock()
	s.mu.Lock()
	lines := s.buf
	s.buf = nil
	s.mu.Unlock()
	if len(lines) == 0 && dropped == 0 {
		return
	}
	err := s.r.e.st.LogAppend(context.WithoutCancel(s.r.ctx), &store.LogAppendParams{Epoch: s.r.run.Lease.Epoch,
		RunID: s.r.run.ID, Step: s.step, Attempt: s.attempt, Lines: lines, Dropped: dropped,
	})
	if err != nil {
		s.r.e.log.Error("store logs", "run_id", s.r.run.ID, "step", s.step, "lines", len(lines), "err", err)
		return
	}
	s.r.e.changes.signal(s.r.run.ID)
}

// finish waits, after the attempt exited, until the executor has delivered
// its whole output, stores what is left and returns the last lines, joined.
// It stops waiting only when the stream delivers nothing for drainIdle, or
// the engine stops, and then says so in the log.
func (s *logSink) finish() string {
	stopped := ""
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, quietSince := s.received.Load(), time.Now()
wait:
	for {
		select {
		case <-s.done:
			break wait
		case <-s.r.e.ctx.Done():
			stopped = "baton was shutting down"
			break wait
		case <-tick.C:
			if n := s.received.Load(); n != last {
				last, quietSince = n, time.Now()
			} else if time.Since(quietSince) >= drainIdle {
				stopped = fmt.Sprintf("nothing came for %s after the attempt ended", drainIdle)
				break wait
			}
		}
	}
	s.cancel()
	<-s.done

	s.mu.Lock()
	for _, name := range slices.Sorted(maps.Keys(s.streams)) {
		sl := s.streams[name]
		_ = sl.in.Close() // writes what the mask held back
		if len(sl.pending) > 0 {
			sl.emitPending()
		}
	}
	var dropped int64
	if s.cut && s.dropped > 0 {
		dropped = s.dropped
		at := s.r.e.cfg.Now()
		if len(s.ring) > 0 {
			at = s.ring[0].Time
		}
		s.buf = append(s.buf, store.LogLine{Time: at, Stream: "stderr", Text: fmt.Sprintf(
			"baton: log cut at %d bytes; %d more bytes not stored; the last %d bytes follow",
			s.stored, s.dropped, s.ringBytes)})
	}
	s.buf = append(s.buf, s.ring...)
	s.ring, s.ringBytes = nil, 0
	if stopped != "" {
		s.buf = append(s.buf, store.LogLine{Time: s.r.e.cfg.Now(), Stream: "stderr", Text: "baton: stopped reading the attempt's output (" +
			stopped + "); anything it printed after this line is not stored"})
	}
	tail := slices.Clone(s.tail)
	s.mu.Unlock()
	s.flush(dropped)

	// In the order they were printed, stdout and stderr together.
	slices.SortStableFunc(tail, func(a, b store.LogLine) int { return a.Time.Compare(b.Time) })
	quoted := make([]string, len(tail))
	for i, l := range tail {
		quoted[i] = clip(l.Text, tailLineMax)
	}
	return strings.Join(quoted, " | ")
}

// abandon stops following without losing what was already stored as it
// came; the last lines past the cap are read again by the next life.
func (s *logSink) abandon() {
	s.cancel()
	<-s.done
	s.flush(0)
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i < len(s) && s[i]&0xc0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
