package browsertest

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// The sink notes a request line, bounded, answers nothing, and keeps
// nothing of what is no request.
func TestSinkNotesAndHangsUp(t *testing.T) {
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	long := "http://outside.invalid/" + strings.Repeat("a", 10*maxTarget)
	for _, raw := range []string{
		"GET http://outside.invalid/x HTTP/1.1\r\nHost: outside.invalid\r\n\r\n",
		"CONNECT outside.invalid:443 HTTP/1.1\r\nHost: outside.invalid:443\r\n\r\n",
		"GET " + long + " HTTP/1.1\r\nHost: outside.invalid\r\n\r\n",
		"no request at all\r\n\r\n",
		"GET http://outside.invalid/big HTTP/1.1\r\nX: " + strings.Repeat("b", 2*maxRequestHead) + "\r\n\r\n",
	} {
		c, err := net.Dial("tcp", s.addr())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		// The sink hangs up without a byte of answer (a reset when it
		// left some of the request unread).
		if n, _ := io.Copy(io.Discard, c); n != 0 {
			t.Errorf("sink answered %d bytes to %.40q", n, raw)
		}
		c.Close()
	}
	s.close()
	got := s.requests()
	want := []string{
		"GET http://outside.invalid/x",
		"CONNECT outside.invalid:443",
		"GET " + long[:maxTarget] + "…",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("noted %q, want %q", got, want)
	}
}
