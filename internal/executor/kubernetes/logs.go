package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"

	"github.com/baton-dev/baton/internal/executor"
)

// maxLine caps one log line; longer lines arrive in pieces.
const maxLine = 64 << 10

// FollowLogs implements [executor.LogFollower]. It waits for the step's
// container to start, then follows its log from the start through the
// API server (GetLogs with follow and timestamps) until the log ends,
// which a kubelet does when the container exits. Should the stream go on
// after the container ended (some nodes never end it), it is cut after a
// short drain and the rest is read afresh, without following, from where
// the stream was: no line is lost or repeated.
//
// Unless [Options.SplitLogStreams] is set, the cluster sends stdout and
// stderr as one stream, and every line is reported as stdout.
func (e *Executor) FollowLogs(ctx context.Context, h *executor.Handle, fn func(executor.LogLine)) error {
	r, err := parseHandle(h)
	if err != nil {
		return err
	}
	var v verdict
	var pod *corev1.Pod
	err = e.observe(ctx, r, func(s *state) (bool, time.Time) {
		v, pod = e.judge(s, time.Now()), s.pod()
		return v.suspended || v.started || v.result != nil || v.err != nil, v.recheck
	})
	if err != nil {
		return fmt.Errorf("kubernetes: logs of job %s: %w", r, err)
	}
	if pod == nil || !v.started {
		// The step's container never ran: it printed nothing.
		return nil
	}
	ended := v.result != nil || v.err != nil
	streams := []*string{nil}
	if e.opts.SplitLogStreams {
		streams = []*string{ptr.To(corev1.LogStreamStdout), ptr.To(corev1.LogStreamStderr)}
	}
	var mu sync.Mutex
	serial := func(l executor.LogLine) {
		mu.Lock()
		defer mu.Unlock()
		fn(l)
	}
	errs := make([]error, len(streams))
	var wg sync.WaitGroup
	for i, stream := range streams {
		wg.Go(func() {
			errs[i] = e.follow(ctx, r, pod.Name, stream, ended, serial)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// follow reads one stream of the step container's log into fn.
func (e *Executor) follow(ctx context.Context, r ref, pod string, stream *string, ended bool, fn func(executor.LogLine)) error {
	name := "stdout"
	if stream != nil && *stream == corev1.LogStreamStderr {
		name = "stderr"
	}
	w := &lineWriter{stream: name, fn: fn}
	defer w.flush()
	if ended {
		_, err := e.readLog(ctx, r, pod, stream, false, w, 0)
		return err
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cut atomic.Bool
	go func() {
		// Once the container ended, the stream has logDrain to end by
		// itself.
		err := e.observe(fctx, r, func(s *state) (bool, time.Time) {
			v := e.judge(s, time.Now())
			return v.result != nil || v.err != nil, v.recheck
		})
		if err != nil {
			return
		}
		t := time.NewTimer(e.logDrain)
		defer t.Stop()
		select {
		case <-t.C:
			cut.Store(true)
			cancel()
		case <-fctx.Done():
		}
	}()
	_, err := e.readLog(fctx, r, pod, stream, true, w, 0)
	if !cut.Load() || ctx.Err() != nil {
		return err
	}
	_, err = e.readLog(ctx, r, pod, stream, false, w, w.consumed)
	return err
}

// readLog copies the log into w, after skipping its first skip bytes.
func (e *Executor) readLog(ctx context.Context, r ref, pod string, stream *string, follow bool, w *lineWriter, skip int64) (int64, error) {
	rc, err := e.client.CoreV1().Pods(r.namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container:  stepContainer,
		Follow:     follow,
		Timestamps: true,
		Stream:     stream,
	}).Stream(ctx)
	if apierrors.IsNotFound(err) {
		return 0, fmt.Errorf("kubernetes: logs of pod %s/%s: %w", r.namespace, pod, executor.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("kubernetes: logs of pod %s/%s: %w", r.namespace, pod, err)
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, rc, skip); err != nil {
			return 0, nil // the log is shorter than what was read: nothing new
		}
	}
	n, err := io.Copy(w, rc)
	if err != nil && ctx.Err() == nil {
		return n, fmt.Errorf("kubernetes: logs of pod %s/%s: %w", r.namespace, pod, err)
	}
	return n, nil
}

// lineWriter turns a kubelet's log stream into lines. Every line starts
// with its RFC 3339 timestamp and a space (the kubelet writes the time
// once per line, however many pieces the runtime logged it in) and ends
// with "\n". A line longer than maxLine is emitted in pieces of maxLine,
// all but the last marked [executor.LogLine.Partial], all with the line's
// time. consumed counts the bytes written, so that a stream read again can
// go on where this one was.
type lineWriter struct {
	stream string
	fn     func(executor.LogLine)

	consumed int64
	// inText: the timestamp of the current line has been read.
	inText  bool
	stamp   []byte // start of a timestamp not yet ended by its space
	pending []byte // start of a line whose end has not arrived
	time    time.Time
}

// maxStamp is the longest timestamp a kubelet writes, and then some.
const maxStamp = len("2006-01-02T15:04:05.000000000+07:00")

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.consumed += int64(n)
	for len(p) > 0 {
		if !w.inText {
			p = w.readStamp(p)
			continue
		}
		line, after, complete := bytes.Cut(p, []byte{'\n'})
		w.pending = append(w.pending, line...)
		for len(w.pending) > maxLine {
			w.emit(w.pending[:maxLine], true)
			w.pending = append(w.pending[:0], w.pending[maxLine:]...)
		}
		if !complete {
			break
		}
		w.emit(w.pending, false)
		w.pending, w.inText = w.pending[:0], false
		p = after
	}
	return n, nil
}

// readStamp consumes the timestamp at the start of a line from p and
// returns the rest. Without one (no space in reach, or not a time), what
// was taken for it is text, and the time is when it was read.
func (w *lineWriter) readStamp(p []byte) []byte {
	i := bytes.IndexByte(p, ' ')
	nl := bytes.IndexByte(p, '\n')
	if i < 0 || nl >= 0 && nl < i {
		if nl >= 0 || len(w.stamp)+len(p) > maxStamp {
			w.notStamp()
			return p
		}
		w.stamp = append(w.stamp, p...)
		return nil
	}
	if len(w.stamp)+i > maxStamp {
		w.notStamp()
		return p
	}
	// w.stamp keeps only what earlier writes gave, should this not be a
	// time after all.
	t, err := time.Parse(time.RFC3339Nano, string(append(w.stamp, p[:i]...)))
	if err != nil {
		w.notStamp()
		return p
	}
	w.time, w.inText, w.stamp = t, true, w.stamp[:0]
	return p[i+1:]
}

// notStamp makes what was read as a timestamp the start of the line's text.
func (w *lineWriter) notStamp() {
	w.time, w.inText = time.Now(), true
	w.pending = append(w.pending, w.stamp...)
	w.stamp = w.stamp[:0]
}

func (w *lineWriter) emit(text []byte, partial bool) {
	w.fn(executor.LogLine{Time: w.time, Stream: w.stream, Text: string(text), Partial: partial})
}

// flush emits a last line that never got its "\n".
func (w *lineWriter) flush() {
	if len(w.stamp) > 0 {
		w.notStamp()
	}
	if len(w.pending) > 0 {
		w.emit(w.pending, false)
		w.pending = w.pending[:0]
	}
	w.inText = false
}
