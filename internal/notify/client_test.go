package notify_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/notify"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	key, body := []byte("k"), []byte(`{"a":1}`)
	sig := notify.Sign(key, body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("signature %q, want sha256= and 64 hex digits", sig)
	}
	if !notify.Verify(key, body, sig) {
		t.Fatal("a signature does not verify")
	}
	for _, bad := range []struct{ key, body, sig string }{
		{"k", `{"a":2}`, sig}, {"other", `{"a":1}`, sig}, {"k", `{"a":1}`, ""}, {"k", `{"a":1}`, sig[:len(sig)-1]},
	} {
		if notify.Verify([]byte(bad.key), []byte(bad.body), bad.sig) {
			t.Fatalf("Verify accepted %+v", bad)
		}
	}
}

func TestPostRedirects(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	var final atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			// Another port is another host.
			http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/final":
			if r.Header.Get(notify.HeaderDelivery) == "d1" && r.Method == http.MethodPost {
				final.Add(1)
			}
		}
	}))
	defer srv.Close()
	c := notify.NewClient(notify.ClientOptions{})
	code, err := c.Post(t.Context(), srv.URL+"/away", "d1", []byte("{}"), "sig")
	if err == nil || code != http.StatusTemporaryRedirect || !strings.Contains(err.Error(), "redirect baton does not follow") {
		t.Fatalf("redirect to another host: code %d, err %v; want 307 refused", code, err)
	}
	if elsewhere.Load() != 0 {
		t.Fatal("the redirect to another host was followed")
	}
	if code, err := c.Post(t.Context(), srv.URL+"/here", "d1", []byte("{}"), "sig"); err != nil || code != 200 || final.Load() != 1 {
		t.Fatalf("redirect on the same host: code %d, err %v, final hits %d", code, err, final.Load())
	}
}

func TestPostErrorsHideURLAndAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("answer-text " + strings.Repeat("y", 1<<20)))
	}))
	defer srv.Close()
	c := notify.NewClient(notify.ClientOptions{})
	code, err := c.Post(t.Context(), srv.URL+"/hook/tok-secret-path", "d", []byte("{}"), "s")
	if code != 400 || err == nil || strings.Contains(err.Error(), "answer-text") || strings.Contains(err.Error(), "tok-secret-path") {
		t.Fatalf("a 400: code %d, err %v", code, err)
	}
	// Nobody listens here.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = c.Post(t.Context(), "http://"+addr+"/hook/tok-secret-path?key=qs-secret", "d", []byte("{}"), "s")
	if err == nil || strings.Contains(err.Error(), "tok-secret-path") || strings.Contains(err.Error(), "qs-secret") {
		t.Fatalf("a refused connection: err %v, want one that does not repeat the URL", err)
	}
}

func TestPostRefusesURLs(t *testing.T) {
	t.Parallel()
	c := notify.NewClient(notify.ClientOptions{})
	for _, u := range []string{"http://hooks.example/x", "https://user:pw@hooks.example/x", "file:///etc/passwd"} {
		_, err := c.Post(t.Context(), u, "d", []byte("{}"), "s")
		if err == nil || strings.Contains(err.Error(), "pw@") {
			t.Fatalf("%s: err %v, want a refusal that does not repeat the URL", u, err)
		}
	}
}

func TestPostTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := notify.NewClient(notify.ClientOptions{Timeout: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := c.Post(ctx, srv.URL, "d", []byte("{}"), "s"); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("a receiver that never answers: err %v, want a timeout", err)
	}
}
