package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/imagepolicy"
)

// engineRef spells an image reference so that the engine can resolve it
// only as the name it is: fully qualified, with its tag. Given a bare name
// such as "b920ae9ec139" or "sha256:b920ae", the engine falls back to
// looking for an image whose ID starts so, and runs whatever it finds;
// "docker.io/library/b920ae9ec139:latest" it can only look up by name.
// References that are image IDs are passed as they are: the image policy
// refuses them where it applies (see [imagepolicy.IsImageID]), and without
// one they mean what they say. A reference that does not parse is passed
// as it is, for the engine to refuse.
func engineRef(ref string) string {
	if imagepolicy.IsImageID(ref) {
		return ref
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

// create creates the container, applying the pull policy on the way: the
// image is looked for only when the engine says it is missing, so the usual
// case costs one call. Errors name the image as the step spelled it. The
// policy is one [CheckPull] accepts: Start checked it.
func (e *Executor) create(ctx context.Context, cfg *container.Config, hostCfg *container.HostConfig, name string, spec *executor.Spec) (container.CreateResponse, error) {
	policy := spec.Pull
	if policy == executor.PullAlways {
		if err := e.pullImage(ctx, cfg.Image, spec.Image); err != nil {
			return container.CreateResponse{}, err
		}
	}
	// A create cut short by ctx may still create, and its answer is the
	// only way to learn what it made: it is bounded, never canceled.
	createContainer := func() (container.CreateResponse, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return e.cli.ContainerCreate(cctx, cfg, hostCfg, nil, nil, name)
	}
	created, err := createContainer()
	if err == nil || !cerrdefs.IsNotFound(err) {
		if err != nil {
			return created, fmt.Errorf("docker: create container %q: %w", name, err)
		}
		return created, nil
	}
	if present, ierr := e.imagePresent(ctx, cfg.Image); ierr != nil || present {
		return created, fmt.Errorf("docker: create container %q: %w", name, err)
	}
	if policy == executor.PullNever {
		return created, fmt.Errorf("docker: %w: %q is not on the engine and the pull policy is %q; pull it first or use %q",
			executor.ErrImageNotFound, spec.Image, policy, executor.PullIfMissing)
	}
	if err := e.pullImage(ctx, cfg.Image, spec.Image); err != nil {
		return created, err
	}
	created, err = createContainer()
	if err != nil {
		return created, fmt.Errorf("docker: create container %q: %w", name, err)
	}
	return created, nil
}

// pullImage pulls ref (shown as the step spelled it) and says what a
// failure means: [executor.ErrUnavailable] when the registry could not be
// reached, [executor.ErrImageNotFound] only when the registry or engine
// said the image does not exist and there is no local copy, and otherwise
// a plain error. Only ErrImageNotFound is not worth retrying.
func (e *Executor) pullImage(ctx context.Context, ref, shown string) error {
	err := e.pull(ctx, ref)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("docker: pull %q: %w", shown, context.Cause(ctx))
	}
	if unreachable(err) {
		return fmt.Errorf("docker: pull %q: %w: the registry could not be reached: %v", shown, executor.ErrUnavailable, err)
	}
	// With a local copy, pull: always failed for another reason.
	if notExist(err) {
		if present, ierr := e.imagePresent(ctx, ref); ierr == nil && !present {
			return fmt.Errorf("docker: %w: %q could not be pulled: %v", executor.ErrImageNotFound, shown, err)
		}
	}
	return fmt.Errorf("docker: pull %q: %w", shown, err)
}

// unreachable says a pull failed for want of a network path to the
// registry, as the engine words it (it reports these as plain text).
func unreachable(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"dial tcp", "no such host", "connection refused", "connection reset",
		"i/o timeout", "timeout exceeded", "tls handshake timeout", "network is unreachable",
		"no route to host", "server misbehaving", "temporary failure in name resolution",
		"eof", "request canceled",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// notExist says the registry or engine answered that the image does not
// exist: the engine's NotFound, or the registry's error codes as the
// engine relays them.
func notExist(err error) bool {
	if cerrdefs.IsNotFound(err) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"manifest unknown", "name unknown", "not found", "repository does not exist",
		"pull access denied",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (e *Executor) imagePresent(ctx context.Context, ref string) (bool, error) {
	_, err := e.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("docker: inspect image %q: %w", ref, err)
	}
	return true, nil
}

// pull pulls ref. The engine reports most failures only inside the progress
// stream, so the stream is read to its end, or until ctx is done: the body
// is closed then, whatever the transport does, so a registry that never
// answers cannot hold the attempt.
func (e *Executor) pull(ctx context.Context, ref string) error {
	e.logger.Info("docker: pulling image", "image", ref)
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	dec := json.NewDecoder(rc)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return ctx.Err()
		} else if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
