package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/baton-dev/baton/internal/executor"
)

// maxLine caps one log line; longer lines arrive in pieces.
const maxLine = 64 << 10

// FollowLogs implements [executor.LogFollower]. It reads the engine's log of
// the container, so it works from the start whether the container is still
// running or exited, until the container is removed.
func (e *Executor) FollowLogs(ctx context.Context, h *executor.Handle, fn func(executor.LogLine)) error {
	rc, err := e.cli.ContainerLogs(ctx, h.ID, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     true,
		Timestamps: true,
	})
	if err != nil {
		return e.wrap("logs of", h, err)
	}
	defer rc.Close()
	// The stream ends when ctx does, whatever the transport does.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	err = ReadLogStream(rc, fn)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("docker: logs of container %s: %w", h.ID, err)
	}
	return nil
}

// ReadLogStream reads a container log stream as the Engine API sends it
// (multiplexed stdout and stderr, each message with its timestamp, as asked
// for with Timestamps) to its end, and calls fn for every line, in order.
// A line over 64 KiB arrives in pieces, all but the last marked
// [executor.LogLine.Partial]. Executors on Docker engines share it.
func ReadLogStream(r io.Reader, fn func(executor.LogLine)) error {
	stdout := &lineWriter{stream: "stdout", fn: fn}
	stderr := &lineWriter{stream: "stderr", fn: fn}
	_, err := stdcopy.StdCopy(stdout, stderr, r)
	stdout.flush()
	stderr.flush()
	return err
}

// lineWriter turns the engine's log messages into lines. [stdcopy.StdCopy]
// writes each frame, which is one message, in one Write; a message starts
// with its timestamp, and ends with "\n" unless the engine split a long line
// into several messages, each with its own timestamp. A line longer than
// maxLine is emitted in pieces of maxLine, all but the last marked
// [executor.LogLine.Partial].
type lineWriter struct {
	stream string
	fn     func(executor.LogLine)

	pending []byte    // start of a line whose end has not arrived
	time    time.Time // when the pending line began
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		t, rest := splitTimestamp(p)
		if len(w.pending) == 0 {
			w.time = t
		}
		line, after, complete := bytes.Cut(rest, []byte{'\n'})
		w.pending = append(w.pending, line...)
		for len(w.pending) > maxLine {
			w.emit(w.pending[:maxLine], true)
			w.pending = w.pending[maxLine:]
			w.time = t
		}
		if !complete {
			break
		}
		w.emit(w.pending, false)
		w.pending = w.pending[:0]
		p = after
	}
	return n, nil
}

func (w *lineWriter) emit(text []byte, partial bool) {
	w.fn(executor.LogLine{Time: w.time, Stream: w.stream, Text: string(text), Partial: partial})
}

// flush emits a last line that never got its "\n".
func (w *lineWriter) flush() {
	if len(w.pending) > 0 {
		w.emit(w.pending, false)
		w.pending = nil
	}
}

// splitTimestamp splits the RFC 3339 timestamp and the space after it from
// the front of a message. Without one, the time is when the line was read.
func splitTimestamp(p []byte) (time.Time, []byte) {
	if i := bytes.IndexByte(p, ' '); i > 0 && i <= len("2006-01-02T15:04:05.999999999+07:00") {
		if t, err := time.Parse(time.RFC3339Nano, string(p[:i])); err == nil {
			return t, p[i+1:]
		}
	}
	return time.Now(), p
}
