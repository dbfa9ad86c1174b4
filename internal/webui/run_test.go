package webui_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/store"
)

// event is one Server-Sent Event.
type event struct{ id, name, data string }

// events reads a stream's events into a channel until it ends.
func (b *browser) events(path string, header ...string) <-chan event {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.s.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.t.Cleanup(cancel)
	req = req.WithContext(ctx)
	client := &http.Client{Jar: b.jar}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan event, 100)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		var e event
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.name != "" {
					e.data = strings.Join(data, "\n")
					out <- e
				}
				e, data = event{}, nil
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				data = append(data, line[6:])
			}
		}
	}()
	return out
}

// next waits for the next event called name, skipping others.
func next(t testing.TB, ch <-chan event, name string) event {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended before a %q event", name)
			}
			if e.name == name {
				return e
			}
		case <-timeout:
			t.Fatalf("no %q event within 60s", name)
		}
	}
}

func TestRunPageFollowsTheRunAndItsLog(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	gate := filepath.Join(t.TempDir(), "gate")
	s.apply(gated(s.bb, gate))
	b := s.signedIn(auth.Operator)
	code, _, h := b.post("/pipelines/gated/runs", url.Values{"csrf": {b.csrf("/pipelines/gated")}, "param.who": {"ops"}})
	if code != http.StatusSeeOther {
		t.Fatalf("trigger: %d", code)
	}
	id := runIDFrom(t, h)
	defer os.WriteFile(gate, nil, 0o644)

	// Wait until "wait" printed its first line and waits.
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows, _ := s.st.LogList(context.Background(), &store.LogListParams{RunID: id, Step: "wait"})
		if len(rows) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("wait printed nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The page opens on the running step's log, which is live; the graph
	// has every step with its state.
	code, page, _ := b.get("/runs/" + id)
	if code != http.StatusOK {
		t.Fatalf("run page: %d\n%s", code, page)
	}
	for _, want := range []string{
		`data-step="first"`, `class="node s-succeeded" data-step="first"`, `class="node s-running" data-step="wait"`,
		`class="node s-pending" data-step="last"`, "Log of wait", "waiting", `data-live="/runs/` + id + `/steps/wait/log/events?after=`,
		`data-live="/runs/` + id + `/events"`, "<code>seen</code>", "step first",
		`id="logstep" data-step="wait"`, `id="log" aria-labelledby="log-h" class="log" data-step="wait"`,
	} {
		if !strings.Contains(page, want) {
			t.Fatalf("run page lacks %s:\n%s", want, page)
		}
	}
	after := page[strings.Index(page, "log/events?after=")+len("log/events?after="):]
	after = after[:strings.IndexByte(after, '"')]

	runEvents := b.events("/runs/" + id + "/events")
	first := next(t, runEvents, "live")
	if !strings.Contains(first.data, `class="node s-running" data-step="wait"`) {
		t.Fatalf("first live event:\n%s", first.data)
	}
	logEvents := b.events("/runs/" + id + "/steps/wait/log/events?after=" + after)

	// The step prints while running: the line arrives before it ends.
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lines := next(t, logEvents, "lines")
	if !strings.Contains(lines.data, "done") || lines.id == "" {
		t.Fatalf("log event: %+v", lines)
	}
	if e := next(t, logEvents, "end"); e.data != "succeeded" {
		t.Fatalf("log end: %+v", e)
	}
	for {
		e := next(t, runEvents, "live")
		if strings.Contains(e.data, `class="node s-succeeded" data-step="last"`) {
			break
		}
	}
	if e := next(t, runEvents, "end"); e.data != "succeeded" {
		t.Fatalf("run end: %+v", e)
	}

	// A browser that reconnects with Last-Event-ID gets only what follows.
	again := b.events("/runs/"+id+"/steps/wait/log/events?after=0", "Last-Event-ID", lines.id)
	if e := next(t, again, "end"); e.name != "end" {
		t.Fatal(e)
	}
}

func TestWhatAStepOrATriggerSaysIsText(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	// The step prints markup, an ANSI colour, a terminal title and a bell;
	// its output and the param carry markup too.
	s.apply(`
name: hostile
params:
  note: {default: ok}
steps:
  - name: loud
    command: ["` + s.bb + `", "sh", "-c", "printf '<script>alert(1)</script>\\n\\033[31mred\\033[0m \\033]0;title\\007 <img src=x onerror=alert(2)>\\n'; echo 'out=<b>bold</b>' >> $BATON_OUTPUT"]
`)
	b := s.signedIn(auth.Operator)
	code, _, h := b.post("/pipelines/hostile/runs", url.Values{"csrf": {b.csrf("/pipelines/hostile")}, "param.note": {`"><script>alert(3)</script>`}})
	if code != http.StatusSeeOther {
		t.Fatalf("trigger: %d", code)
	}
	id := runIDFrom(t, h)
	if run := s.waitRun(id); run.Status != store.RunSucceeded {
		t.Fatalf("run: %+v", run)
	}
	for _, path := range []string{"/runs/" + id, "/runs", "/runs?param=note%3D%22%3E%3Cscript%3E"} {
		_, page, _ := b.get(path)
		for _, bad := range []string{"<script>alert", "<img", "<b>bold", "title\x07", "\x1b"} {
			if strings.Contains(page, bad) {
				t.Fatalf("%s has %q:\n%s", path, bad, page)
			}
		}
		if m := inlineCode.FindString(page); m != "" {
			t.Fatalf("%s: inline code %q", path, m)
		}
	}
	_, page, _ := b.get("/runs/" + id)
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `<span class="a-fg1">red</span>`, "&lt;b&gt;bold&lt;/b&gt;", "&lt;script&gt;alert(3)"} {
		if !strings.Contains(page, want) {
			t.Fatalf("run page lacks %s:\n%s", want, page)
		}
	}
	// The download is the text, escapes stripped, as an attachment.
	code, text, h := b.get("/runs/" + id + "/steps/loud/log.txt")
	if code != http.StatusOK || !strings.Contains(h.Get("Content-Disposition"), "attachment") || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("download: %d %v", code, h)
	}
	if !strings.Contains(text, "<script>alert(1)</script>") || !strings.Contains(text, " red ") || strings.Contains(text, "\x1b") {
		t.Fatalf("download:\n%q", text)
	}
}
