package mask

import (
	"errors"
	"io"
)

// Writer masks a stream on its way to another writer. A secret split across
// two or more Write calls is still masked: the Writer holds back the last
// few bytes that might begin a secret form (fewer than the longest form)
// until later bytes settle it, and [Writer.Close] flushes them.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	m      *Masker
	w      io.Writer
	st     int32
	buf    []byte // bytes read but not yet written
	spans  []span // parts of buf to mask
	masked bool   // the last byte written was masked
	out    []byte // scratch for what one Write passes on
	err    error
}

var _ io.WriteCloser = (*Writer)(nil)

// maxScratch bounds the buffers a Writer keeps between writes, so one
// large write does not pin its size for the life of the stream.
const maxScratch = 64 << 10

var errClosed = errors.New("mask: write to a closed Writer")

// Writer returns a [Writer] that writes to w what is written to it, masked.
func (m *Masker) Writer(w io.Writer) *Writer { return &Writer{m: m, w: w} }

// Write masks p and passes on all of it but the bytes it must hold back. It
// returns an error from the underlying writer, which stays and is returned by
// every later call.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	a := w.m.a
	if a == nil {
		_, w.err = w.w.Write(p)
		return len(p), w.err
	}
	from := len(w.buf)
	w.buf = append(w.buf, p...)
	for i := from; i < len(w.buf); i++ {
		if w.st == 0 {
			w.st = a.root[w.buf[i]]
		} else {
			w.st = a.step(w.st, w.buf[i])
		}
		if n := int(a.match[w.st]); n > 0 {
			// The automaton holds back every byte of a match until its end
			// is read, so start is never before buf; max is a guard.
			w.spans = addSpan(w.spans, max(0, i+1-n), i+1)
		}
	}
	w.flush(len(w.buf) - int(a.hold[w.st]))
	return len(p), w.err
}

// Close writes the bytes held back. It does not close the underlying writer.
// Writes after Close fail.
func (w *Writer) Close() error {
	if w.err != nil {
		if w.err == errClosed {
			return nil
		}
		return w.err
	}
	w.flush(len(w.buf))
	if w.err != nil {
		return w.err
	}
	w.err = errClosed
	return nil
}

// flush writes buf[:k], masked, and keeps the rest. A masked span may
// straddle k: its first part is written as the replacement and the rest
// stays marked, so no extra replacement is written for it later.
func (w *Writer) flush(k int) {
	if k <= 0 {
		return
	}
	out := w.out[:0]
	pos, i := 0, 0
	for ; i < len(w.spans) && w.spans[i].start < k; i++ {
		sp := w.spans[i]
		if pos < sp.start {
			out = append(out, w.buf[pos:sp.start]...)
			w.masked = false
		}
		if !w.masked {
			out = append(out, Replacement...)
			w.masked = true
		}
		if sp.end > k {
			w.spans[i].start = k
			pos = k
			break
		}
		pos = sp.end
	}
	if pos < k {
		out = append(out, w.buf[pos:k]...)
		w.masked = false
	}
	w.spans = append(w.spans[:0], w.spans[i:]...)
	for j := range w.spans {
		w.spans[j].start -= k
		w.spans[j].end -= k
	}
	if cap(w.buf) > maxScratch {
		w.buf = append([]byte(nil), w.buf[k:]...)
	} else {
		w.buf = append(w.buf[:0], w.buf[k:]...)
	}
	if cap(out) <= maxScratch {
		w.out = out
	}
	if len(out) > 0 {
		_, w.err = w.w.Write(out)
	}
}
