package browsertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bounds on what a page can make the sink read and keep.
const (
	maxRequests    = 100
	maxRequestHead = 16 << 10
	maxTarget      = 200
)

// sink is the browser's only proxy. Chromium sends it every request that is
// not for loopback; it notes the request line and closes the connection
// without an answer, so the request fails and nothing leaves the machine.
type sink struct {
	ln net.Listener
	wg sync.WaitGroup

	mu   sync.Mutex
	seen []string
}

// startSink listens on a loopback port of its own.
func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the proxy sink: %w", err)
	}
	s := &sink{ln: ln}
	s.wg.Go(s.serve)
	return s, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.wg.Go(func() { s.handle(c) })
	}
}

// handle reads one request head, bounded in size and time, and hangs up.
func (s *sink) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(io.LimitReader(c, maxRequestHead)))
	if err != nil {
		return
	}
	target := strings.ToValidUTF8(req.RequestURI, "?")
	if len(target) > maxTarget {
		target = target[:maxTarget] + "…"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) < maxRequests {
		s.seen = append(s.seen, req.Method+" "+target)
	}
}

func (s *sink) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// close stops listening and waits for the connections in hand.
func (s *sink) close() {
	s.ln.Close()
	s.wg.Wait()
}
