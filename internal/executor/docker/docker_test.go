package docker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/executor/executortest"
)

// newExecutor returns an executor on the fast path, where each attempt's
// /baton is a tmpfs of its own, whenever the tests may mount (see
// buildExecutor); on the copy path otherwise.
func newExecutor(t *testing.T) *docker.Executor {
	t.Helper()
	e, _, _ := buildExecutor(t)
	return e
}

// newCopyExecutor returns an executor that copies the output file in and
// out of each container.
func newCopyExecutor(t *testing.T) *docker.Executor {
	t.Helper()
	dockertest.Client(t) // skips without an engine
	e, err := docker.New(docker.Options{SecretsDir: executortest.SecretsDir(t), CopyOutput: true,
		OutputDir: filepath.Join(t.TempDir(), "outputs"), Logger: warnFails(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if e.TmpfsOutputs(ctx(t)) {
		t.Fatal("CopyOutput is set, yet attempts get a tmpfs")
	}
	return e
}

func TestConformance(t *testing.T) {
	image := dockertest.BusyboxImage(t)
	t.Run("tmpfs", func(t *testing.T) {
		executortest.Run(t, func(t *testing.T) executor.Executor { e, _ := newTmpfsExecutor(t); return e }, image)
	})
	t.Run("copy", func(t *testing.T) {
		executortest.Run(t, func(t *testing.T) executor.Executor { return newCopyExecutor(t) }, image)
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func spec(t *testing.T, image string, command ...string) *executor.Spec {
	return &executor.Spec{
		RunID:   fmt.Sprintf("test%d", time.Now().UnixNano()),
		Step:    t.Name(),
		Attempt: 2,
		Image:   image,
		Command: command,
		Pull:    executor.PullNever,
	}
}

// run starts s, removes it when the test ends and waits for it.
func run(t *testing.T, e *docker.Executor, s *executor.Spec) (*executor.Handle, *executor.Result) {
	t.Helper()
	h, err := e.Start(ctx(t), s)
	if h != nil {
		t.Cleanup(func() {
			if err := e.Remove(context.Background(), h); err != nil {
				t.Error(err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Wait(ctx(t), h)
	if err != nil {
		t.Fatal(err)
	}
	return h, r
}

func TestContainerSetup(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	cli := dockertest.Client(t)
	e := newExecutor(t)
	s := spec(t, image, "sh", "-c", `stat -c %a /baton "$BATON_OUTPUT" > "$BATON_OUTPUT"`)
	h, r := run(t, e, s)
	if got, want := string(r.Output), "777\n666\n"; got != want {
		t.Errorf("modes of /baton and its output file = %q, want %q", got, want)
	}

	info, err := cli.ContainerInspect(ctx(t), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		executor.LabelManaged: "true",
		executor.LabelRun:     s.RunID,
		executor.LabelStep:    s.Step,
		executor.LabelAttempt: "2",
	}
	for k, v := range want {
		if got := info.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if wantName := fmt.Sprintf("/baton-%s-TestContainerSetup-2", s.RunID); info.Name != wantName {
		t.Errorf("name = %q, want %q", info.Name, wantName)
	}
	if !slices.Contains(info.HostConfig.ExtraHosts, "host.docker.internal:host-gateway") {
		t.Errorf("ExtraHosts = %q, want host.docker.internal:host-gateway", info.HostConfig.ExtraHosts)
	}
	if info.HostConfig.AutoRemove {
		t.Error("AutoRemove is set; baton removes containers itself after archiving logs")
	}

	owned, err := e.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(owned, func(o docker.Owned) bool { return o.ID == h.ID })
	if i < 0 {
		t.Fatalf("List does not include %s", h.ID)
	}
	if o := owned[i]; o.RunID != s.RunID || o.Step != s.Step || o.Attempt != 2 || o.State != "exited" {
		t.Errorf("List entry = %+v", o)
	}
}

// TestMissingImage asks for an image the engine does not have: with pull:
// never, and from a registry that answers that it has no such image.
// Either is ErrImageNotFound, and nothing is created.
func TestMissingImage(t *testing.T) {
	t.Parallel()
	dockertest.BusyboxImage(t) // skip without an engine
	cli := dockertest.Client(t)
	registry := fakeRegistry(t)
	for _, tc := range []struct{ pull, image string }{
		{executor.PullNever, "baton-test/no-such-image:never"},
		{executor.PullIfMissing, registry + "/baton-test/no-such-image:if-missing"},
		{executor.PullAlways, registry + "/baton-test/no-such-image:always"},
	} {
		t.Run(tc.pull, func(t *testing.T) {
			t.Parallel()
			e := newExecutor(t)
			s := spec(t, tc.image, "true")
			s.Pull = tc.pull
			h, err := e.Start(ctx(t), s)
			if !errors.Is(err, executor.ErrImageNotFound) {
				t.Errorf("err = %v, want %v", err, executor.ErrImageNotFound)
			}
			if err != nil && !strings.Contains(err.Error(), s.Image) {
				t.Errorf("err = %v, want it to name the image", err)
			}
			if h != nil {
				t.Errorf("handle = %+v, want nil", h)
			}
			cs, err := cli.ContainerList(ctx(t), container.ListOptions{
				All:     true,
				Filters: filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+s.RunID)),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 0 {
				t.Errorf("%d containers created, want none", len(cs))
			}
		})
	}
}

func TestStartFailureReturnsHandle(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	h, err := e.Start(ctx(t), spec(t, image, "baton-no-such-command"))
	if err == nil {
		t.Fatal("Start succeeded, want an error")
	}
	if h == nil {
		t.Fatal("handle is nil; the created container would leak")
	}
	if err := e.Remove(ctx(t), h); err != nil {
		t.Errorf("Remove: %v", err)
	}
}

func TestUnknownContainer(t *testing.T) {
	t.Parallel()
	e := newExecutor(t)
	h := &executor.Handle{Executor: "docker", ID: "baton-test-no-such-container"}
	if _, err := e.Wait(ctx(t), h); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Wait: err = %v, want %v", err, executor.ErrNotFound)
	}
	if err := e.FollowLogs(ctx(t), h, func(executor.LogLine) {}); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("FollowLogs: err = %v, want %v", err, executor.ErrNotFound)
	}
	if err := e.Remove(ctx(t), h); err != nil {
		t.Errorf("Remove: %v", err)
	}
}

func TestLongLogLines(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	// 100,000 bytes on one line, which the engine itself splits at 16 KiB.
	h, _ := run(t, e, spec(t, image, "sh", "-c", `head -c 100000 /dev/zero | tr '\0' a; echo; echo short`))
	var lens []int
	var partial []bool
	if err := e.FollowLogs(ctx(t), h, func(l executor.LogLine) {
		lens = append(lens, len(l.Text))
		partial = append(partial, l.Partial)
	}); err != nil {
		t.Fatal(err)
	}
	if want := []int{65536, 100000 - 65536, 5}; !slices.Equal(lens, want) {
		t.Errorf("line lengths = %v, want %v", lens, want)
	}
	if want := []bool{true, false, false}; !slices.Equal(partial, want) {
		t.Errorf("Partial = %v, want %v", partial, want)
	}
}

func TestReachesHost(t *testing.T) {
	t.Parallel()
	image := dockertest.BusyboxImage(t)
	e := newExecutor(t)
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the host")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	url := fmt.Sprintf("http://host.docker.internal:%d/", port)
	// timeout, not wget -T: Debian's busybox-static wget crashes on -T.
	_, r := run(t, e, spec(t, image, "timeout", "30", "wget", "-q", "-O", "/baton/output", url))
	if r.ExitCode != 0 {
		t.Fatalf("container could not reach the host at %s (exit %d); does a firewall block the docker bridge?", url, r.ExitCode)
	}
	if got := string(r.Output); got != "hello from the host" {
		t.Errorf("Output = %q", got)
	}
}

// A handle from a version that bind-mounted <data-dir>/outputs/<container>
// still has that directory removed, links in it and all, without following
// them.
func TestRemoveLegacyOutputDir(t *testing.T) {
	t.Parallel()
	e := newExecutor(t)
	base := t.TempDir()
	target := filepath.Join(base, "admin.token")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "outputs", "baton-old-step-1")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../admin.token", filepath.Join(dir, "output")); err != nil {
		t.Fatal(err)
	}
	h := &executor.Handle{Executor: "docker", ID: "baton-test-no-such-container", Dir: dir}
	if err := e.Remove(ctx(t), h); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("legacy output directory after Remove: %v, want it gone", err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "keep" {
		t.Errorf("link target after Remove: %q, %v; want it intact", b, err)
	}
}
