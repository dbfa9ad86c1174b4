package aci

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/baton-dev/baton/internal/executor"
)

// maxPiece bounds one [executor.LogLine]: a longer line is delivered in
// pieces marked Partial.
const maxPiece = 64 << 10

// finishTimeout bounds how long Wait lets followers read the log to its
// end.
const finishTimeout = 2 * time.Minute

// FollowLogs implements [executor.LogFollower]. Azure has no log stream:
// the container's log is read whole every [Options.LogPoll] and the lines
// not seen yet are delivered, with the times Azure gives them. Azure
// keeps both streams as one, so every line is reported as stdout. When the
// step's container has ended, the log is read once more, to its end, and
// FollowLogs returns; [Executor.Wait] waits for that before it returns.
func (e *Executor) FollowLogs(ctx context.Context, h *executor.Handle, fn func(executor.LogLine)) error {
	rg, name, err := parseHandle(h)
	if err != nil {
		return err
	}
	f := e.follows.join(name)
	defer e.follows.leave(name, f)
	var cur logCursor
	failures := 0
	for i := 0; ; i++ {
		ended := f.ended()
		if !ended && i%4 == 0 {
			// Wait says when the step ended; a follower without a Wait
			// looks itself, now and then.
			resp, err := e.groups.Get(ctx, rg, name, nil)
			if isNotFound(err) {
				if i == 0 {
					return fmt.Errorf("aci: logs of container group %s: %w", h.ID, executor.ErrNotFound)
				}
				return nil
			}
			if err == nil {
				v := judge(&resp.ContainerGroup, e.clock.Now())
				ended = v.result != nil || v.err != nil
			} else if ctx.Err() != nil {
				return nil
			}
		}
		lines, err := e.readLog(ctx, rg, name, &cur, ended)
		switch {
		case isNotFound(err):
			return nil // removed: nothing more to read
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			e.logger.Warn("aci: read container log", "group", h.ID, "err", explain(err))
			if failures++; ended && failures >= 3 {
				return fmt.Errorf("aci: logs of container group %s: %w", h.ID, explain(err))
			}
			if sleep(ctx, e.clock, e.opts.LogPoll) != nil {
				return nil
			}
			continue
		}
		failures = 0
		for _, l := range lines {
			fn(l)
		}
		if ended {
			return nil
		}
		if err := f.sleep(ctx, e.clock, e.opts.LogPoll); err != nil {
			return nil
		}
	}
}

// readLog reads the step container's log and returns the lines cur has
// not delivered. A last line without its newline is held back, unless the
// container has ended.
func (e *Executor) readLog(ctx context.Context, rg, name string, cur *logCursor, ended bool) ([]executor.LogLine, error) {
	resp, err := e.containers.ListLogs(ctx, rg, name, stepContainer, &armcontainerinstance.ContainersClientListLogsOptions{Timestamps: to.Ptr(true)})
	if err != nil {
		return nil, err
	}
	content := deref(resp.Content)
	raw := strings.Split(content, "\n")
	if rest := raw[len(raw)-1]; rest == "" || !ended {
		raw = raw[:len(raw)-1] // "" after the last newline, or a line still being written
	}
	return cur.next(raw, e.clock.Now()), nil
}

// logCursor remembers what of a log was delivered: how many lines, and
// the last of them as Azure gave it.
type logCursor struct {
	n    int
	last string
}

// next returns the lines of raw after those delivered, parsed, and moves
// the cursor past them. Azure keeps the end of a long log only; when its
// start moved, the last line delivered is looked for, and without it
// every line is new.
func (c *logCursor) next(raw []string, now time.Time) []executor.LogLine {
	from := 0
	switch {
	case c.n == 0:
	case c.n <= len(raw) && raw[c.n-1] == c.last:
		from = c.n
	default:
		for i := len(raw) - 1; i >= 0; i-- {
			if raw[i] == c.last {
				from = i + 1
				break
			}
		}
	}
	if from == len(raw) {
		c.n = len(raw)
		return nil
	}
	var out []executor.LogLine
	for _, r := range raw[from:] {
		at, text := parseLogLine(r, now)
		out = append(out, pieces(at, text)...)
	}
	c.n, c.last = len(raw), raw[len(raw)-1]
	return out
}

// parseLogLine splits a line Azure gave with timestamps=true into its time
// and text. A line without a time is given now.
func parseLogLine(raw string, now time.Time) (time.Time, string) {
	raw = strings.TrimSuffix(raw, "\r")
	stamp, text, ok := strings.Cut(raw, " ")
	if ok && len(stamp) >= len("2006-01-02T15:04:05Z") && len(stamp) <= len(time.RFC3339Nano)+8 {
		if at, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			return at, text
		}
	}
	return now, raw
}

// pieces cuts text into lines of at most [maxPiece] bytes.
func pieces(at time.Time, text string) []executor.LogLine {
	var out []executor.LogLine
	for len(text) > maxPiece {
		out = append(out, executor.LogLine{Time: at, Stream: "stdout", Text: text[:maxPiece], Partial: true})
		text = text[maxPiece:]
	}
	return append(out, executor.LogLine{Time: at, Stream: "stdout", Text: text})
}

// follows are the followers of each group's log, by group name, so that
// Wait can tell them the step ended and wait for them to read the log to
// its end.
type follows struct {
	mu sync.Mutex
	m  map[string]map[*follower]bool
}

func newFollows() *follows { return &follows{m: make(map[string]map[*follower]bool)} }

// follower is one FollowLogs call.
type follower struct {
	end  chan struct{} // closed when Wait saw the step end
	once sync.Once
	done chan struct{} // closed when FollowLogs returned
}

func (f *follower) ended() bool {
	select {
	case <-f.end:
		return true
	default:
		return false
	}
}

// sleep waits d, or until the step ended.
func (f *follower) sleep(ctx context.Context, c clock, d time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-f.end:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := sleep(ctx, c, d)
	if f.ended() {
		return nil
	}
	return err
}

func (fs *follows) join(name string) *follower {
	f := &follower{end: make(chan struct{}), done: make(chan struct{})}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m[name] == nil {
		fs.m[name] = make(map[*follower]bool)
	}
	fs.m[name][f] = true
	return f
}

func (fs *follows) leave(name string, f *follower) {
	fs.mu.Lock()
	delete(fs.m[name], f)
	if len(fs.m[name]) == 0 {
		delete(fs.m, name)
	}
	fs.mu.Unlock()
	close(f.done)
}

// finish tells the group's followers that the step ended, and waits for
// them to have read the log to its end, as long as ctx allows and at most
// [finishTimeout].
func (fs *follows) finish(ctx context.Context, name string) {
	fs.mu.Lock()
	var waiting []*follower
	for f := range fs.m[name] {
		f.once.Do(func() { close(f.end) })
		waiting = append(waiting, f)
	}
	fs.mu.Unlock()
	if len(waiting) == 0 {
		return
	}
	timer := time.NewTimer(finishTimeout)
	defer timer.Stop()
	for _, f := range waiting {
		select {
		case <-f.done:
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		}
	}
}
