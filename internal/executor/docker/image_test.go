package docker_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/imagepolicy"
)

// fakeRegistry is a hand-written stand-in for a registry, the one thing
// that cannot run here: it answers the API check and says every manifest
// is unknown, as a real registry does for a tag it does not have. It
// returns its address; the engine on this machine reaches it over plain
// HTTP, as engines do for registries on 127.0.0.0/8.
func fakeRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v2/" {
			w.Write([]byte("{}"))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`))
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// closedPort is an address on this machine where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A registry that cannot be reached is a transient failure, worth
// retrying: never ErrImageNotFound.
func TestPullUnreachable(t *testing.T) {
	t.Parallel()
	dockertest.BusyboxImage(t) // skip without an engine
	addr := closedPort(t)
	for _, pull := range []string{executor.PullIfMissing, executor.PullAlways} {
		t.Run(pull, func(t *testing.T) {
			t.Parallel()
			e := newExecutor(t)
			s := spec(t, addr+"/baton-test/x:1", "true")
			s.Pull = pull
			h, err := e.Start(ctx(t), s)
			if h != nil {
				t.Cleanup(func() { _ = e.Remove(context.Background(), h) })
			}
			t.Logf("Start: %v", err)
			if !errors.Is(err, executor.ErrUnavailable) || errors.Is(err, executor.ErrImageNotFound) {
				t.Errorf("err = %v, want %v and not %v", err, executor.ErrUnavailable, executor.ErrImageNotFound)
			}
		})
	}
}

// A registry that accepts connections and never answers holds the pull
// only as long as the caller's context: Start returns when it ends.
func TestPullHonoursContext(t *testing.T) {
	t.Parallel()
	dockertest.BusyboxImage(t) // skip without an engine
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	e := newExecutor(t)
	s := spec(t, ln.Addr().String()+"/x:1", "true")
	s.Pull = executor.PullIfMissing
	pctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	type result struct {
		h   *executor.Handle
		err error
	}
	done := make(chan result, 1)
	go func() {
		h, err := e.Start(pctx, s)
		done <- result{h, err}
	}()
	select {
	case r := <-done:
		if r.h != nil {
			_ = e.Remove(context.Background(), r.h)
		}
		if r.err == nil {
			t.Fatal("Start succeeded against a registry that never answers")
		}
		t.Logf("Start: %v", r.err)
		if errors.Is(r.err, executor.ErrImageNotFound) {
			t.Errorf("err = %v, want a transient failure, not %v", r.err, executor.ErrImageNotFound)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Start still running two minutes after its 3 s context ended")
	}
}

// TestImageIDReferences refers to an image on the engine by its ID, its
// short ID and sha256:ID. The engine runs the image for each, so under a
// policy that allows only other names (docker.io/library/*, which those
// spellings parse into) the policy must refuse them. A name that merely
// looks like an ID prefix is looked up only as a name.
func TestImageIDReferences(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	info, err := cli.ImageInspect(ctx(t), image)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(info.ID, "sha256:")
	policy := imagepolicy.Policy{Allow: []string{"docker.io/library/*"}}
	e := newExecutor(t)
	for _, ref := range []string{id, id[:12], "sha256:" + id, "sha256:" + id[:12]} {
		// The engine does resolve these to the image: the hole is real.
		s := spec(t, ref, "true")
		h, r := run(t, e, s)
		c, err := cli.ContainerInspect(ctx(t), h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.ExitCode != 0 || c.Image != info.ID {
			t.Fatalf("engine ran %s for %q (exit %d), want %s: the test's premise is wrong", c.Image, ref, r.ExitCode, info.ID)
		}
		if err := policy.Check(ref); !errors.Is(err, imagepolicy.ErrDenied) {
			t.Errorf("policy.Check(%q) = %v, want it refused as an image ID", ref, err)
		}
	}

	// Spelled so that the policy sees a name, the executor has the engine
	// look it up only as that name, never as an ID prefix.
	for _, ref := range []string{"docker.io/library/" + id[:12], id[:12] + ":latest"} {
		if err := policy.Check(ref); err != nil {
			t.Fatalf("policy.Check(%q) = %v; the case needs a name the policy allows", ref, err)
		}
		s := spec(t, ref, "true")
		h, err := e.Start(ctx(t), s)
		if h != nil {
			t.Cleanup(func() { _ = e.Remove(context.Background(), h) })
			c, ierr := cli.ContainerInspect(ctx(t), h.ID)
			if ierr == nil && c.Image == info.ID {
				t.Errorf("Start(%q) ran %s, the image whose ID starts so", ref, image)
			}
		}
		if err == nil {
			t.Errorf("Start(%q) succeeded, want no such image", ref)
		}
	}
}

// The container's config names the image in full, so the engine cannot
// take it for an ID.
func TestImageNamedInFull(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	h, _ := run(t, e, spec(t, image, "true"))
	if c := inspect(t, h); c.Config.Image != "docker.io/"+image {
		t.Errorf("Config.Image = %q, want %q", c.Config.Image, "docker.io/"+image)
	}
}
