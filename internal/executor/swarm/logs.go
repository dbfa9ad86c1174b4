package swarm

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/baton-dev/baton/internal/executor"
)

// maxLine caps one log line; longer lines arrive in pieces.
const maxLine = 64 << 10

// FollowLogs implements [executor.LogFollower]. It waits for the task to
// have a container, then reads that container's log through its node's
// engine, from the start, until the container exits. The swarm's own
// service logs cannot say when a task's output has ended: measured on
// 20.10, a followed service log stays open after its only task completed,
// waiting for tasks that never come. A task that ends without ever having
// a container printed nothing.
func (e *Executor) FollowLogs(ctx context.Context, h *executor.Handle, fn func(executor.LogLine)) error {
	delay := firstPoll
	for {
		svc, tasks, err := e.state(ctx, h)
		if err != nil {
			return err
		}
		t := firstTask(tasks)
		if t != nil && t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ContainerID != "" {
			return e.followContainer(ctx, h, t.NodeID, t.Status.ContainerStatus.ContainerID, fn)
		}
		v := judge(svc, tasks, time.Now(), e.scheduleTimeout)
		if v.outcome != waiting || svc.Spec.Labels[labelLost] != "" {
			return nil
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(delay*2, maxPoll)
	}
}

func (e *Executor) followContainer(ctx context.Context, h *executor.Handle, node, cid string, fn func(executor.LogLine)) error {
	cli := e.nodes.engine(ctx, node)
	if cli == nil {
		return fmt.Errorf("swarm: logs of service %s: the task runs on node %s, whose Docker API baton does not reach; list it in the swarm executor's nodes", h.ID, node)
	}
	rc, err := cli.ContainerLogs(ctx, cid, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     true,
		Timestamps: true,
	})
	if err != nil {
		return wrap("logs of", h, err)
	}
	defer rc.Close()
	// The stream ends when ctx does, whatever the transport does.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	stdout := &lineWriter{stream: "stdout", fn: fn}
	stderr := &lineWriter{stream: "stderr", fn: fn}
	_, err = stdcopy.StdCopy(stdout, stderr, rc)
	stdout.flush()
	stderr.flush()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("swarm: logs of service %s: %w", h.ID, err)
	}
	return nil
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
