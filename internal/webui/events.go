package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// eventStream writes Server-Sent Events. Each send is flushed, and bounded
// in time: a reader that stops reading is cut off.
type eventStream struct {
	w  http.ResponseWriter
	r  *http.Request
	rc *http.ResponseController
	// start is when the stream began; see maxStreamTime.
	start time.Time
	// gather is how long a change waits for the ones that follow it, so
	// that a burst makes one update; 0 for log lines, which are sent as
	// soon as they are stored.
	gather time.Duration
}

// writeTimeout bounds each send.
const writeTimeout = 30 * time.Second

// maxStreamTime bounds one stream; the browser reconnects by itself, and
// the server's connections are not held for ever.
const maxStreamTime = 30 * time.Minute

func (u *UI) startEvents(w http.ResponseWriter, r *http.Request) (*eventStream, bool) {
	rc := http.NewResponseController(w)
	// The API's read and write deadlines do not suit a stream: each send
	// sets its own.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, r: r, rc: rc, start: time.Now(), gather: 20 * time.Millisecond}
	// Ask the browser to wait 2 s before reconnecting after a cut.
	if !s.write("retry: 2000\n\n") {
		return nil, false
	}
	return s, true
}

// send writes one event; data may span lines. It reports whether the
// reader is still there.
func (s *eventStream) send(event, data string) bool {
	return s.sendID("", event, data)
}

// sendID writes one event with an id, which the browser sends back as
// Last-Event-ID when it reconnects.
func (s *eventStream) sendID(id, event, data string) bool {
	var b strings.Builder
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	fmt.Fprintf(&b, "event: %s\n", event)
	for _, line := range strings.Split(strings.ReplaceAll(data, "\r", ""), "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return s.write(b.String())
}

func (s *eventStream) write(text string) bool {
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := s.w.Write([]byte(text)); err != nil {
		return false
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	return true
}

// pageEvery is the least time between two updates of a page's rendered
// parts: a step that prints all the time changes its run at every log
// flush, and re-reading and re-rendering a run is far more work than a
// log batch.
const pageEvery = 500 * time.Millisecond

// pace waits, if need be, so that updates are at least pageEvery apart;
// it reports whether to go on.
func (s *eventStream) pace(last time.Time) bool {
	d := pageEvery - time.Since(last)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.r.Context().Done():
		return false
	}
}

// wait waits for changed, at most every (a change on another server that
// did not signal this one is seen then), or the end of the request or of
// the stream's time. It reports whether to go on.
func (s *eventStream) wait(changed <-chan struct{}, every time.Duration) bool {
	if time.Since(s.start) > maxStreamTime {
		return false
	}
	t := time.NewTimer(every)
	defer t.Stop()
	select {
	case <-changed:
		if s.gather > 0 {
			time.Sleep(s.gather)
		}
		return true
	case <-t.C:
		return true
	case <-s.r.Context().Done():
		return false
	}
}

// sendRendered sends what render gives as event, and again, when it
// differs, after each change of runID ("" for any run), at most every
// pageEvery. A render that says end (the run's final status) ends the
// stream with an "end" event carrying it; one that fails ends it with an
// "error" event that names nothing of the failure, which render logs.
func (u *UI) sendRendered(s *eventStream, runID, event string, render func() (html, end string, err error)) {
	var last string
	var sent time.Time
	for {
		changed := u.o.Engine.Changed(runID)
		html, end, err := render()
		if err != nil {
			s.send("error", "this page cannot be read now; reload it")
			return
		}
		if html != last {
			if !s.send(event, html) {
				return
			}
			last, sent = html, time.Now()
		}
		if end != "" {
			s.send("end", end)
			return
		}
		if !s.wait(changed, 2*time.Second) || !s.pace(sent) {
			return
		}
	}
}
