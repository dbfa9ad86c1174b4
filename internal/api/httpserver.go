package api

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what one client may hold, so that a client that sends
// slowly, or never stops, loses its connection instead of keeping it;
// together with [DefaultMaxConns] they keep file descriptors for the
// clients that work. A zero field takes its default.
type Limits struct {
	// HeaderTimeout bounds the time to send a request's headers (and,
	// with TLS, the handshake). Default 10 s.
	HeaderTimeout time.Duration
	// BodyTimeout bounds the time to send a request's body, from the
	// moment the handler starts. Default 60 s.
	BodyTimeout time.Duration
	// WriteTimeout bounds the time to take a response. A log stream
	// extends it for each batch it sends, so it may last as long as the
	// step, provided its reader keeps reading. Default 60 s.
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection that sends no new
	// request. Default 60 s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers. Default 64 KiB.
	MaxHeaderBytes int
}

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.HeaderTimeout, 10*time.Second)
	def(&l.BodyTimeout, 60*time.Second)
	def(&l.WriteTimeout, 60*time.Second)
	def(&l.IdleTimeout, 60*time.Second)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	return l
}

// DefaultMaxConns is how many connections a server holds at once, through
// [LimitListener]. Past it, new connections wait in the kernel's queue
// until one closes.
const DefaultMaxConns = 1024

// NewHTTPServer returns the HTTP server for an API handler, with the
// server-wide parts of lim. It sets no server-wide read or write timeout,
// which would cut log streams: [Server] sets a deadline per request, for
// the body and for the response (give it the same limits in
// [Options].Limits), and streams extend theirs.
func NewHTTPServer(h http.Handler, log *slog.Logger, lim Limits) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim = lim.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.HeaderTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// setDeadlines bounds the time a request may take to send its body and to
// take its answer.
func (s *Server) setDeadlines(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	now := time.Now()
	_ = rc.SetWriteDeadline(now.Add(s.limits.WriteTimeout))
	if r.ContentLength != 0 { // -1: a body of unknown length
		_ = rc.SetReadDeadline(now.Add(s.limits.BodyTimeout))
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
	}
}

// deadlineBody lifts the body's read deadline once the body has been read:
// the server then reads on only to notice the client going away, and a
// deadline there would cancel a request that is still being answered.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// LimitListener returns a listener that holds at most n connections at
// once: Accept waits while n are open.
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn frees its slot when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes a TCP connection, as net/http does before closing
// one whose request body it did not read, so the client gets the answer
// before the reset.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// bodyPending reports whether a request has a body not read to its end.
func bodyPending(r *http.Request) bool {
	if r.ContentLength == 0 {
		return false
	}
	b, ok := r.Body.(*deadlineBody)
	return !ok || !b.done
}
