package aci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/failpoint"
)

// Start implements [executor.Executor]. It makes the attempt's container
// group and returns once the step's container runs (or already ended), so
// that what keeps it from starting (an image that cannot be pulled, a
// quota, a group Azure could not place) is a failure to start:
// [executor.ErrImageNotFound] for an image that is not there or may not be
// pulled, [executor.ErrUnavailable] for what may pass (quota, capacity,
// pulls that keep failing past [Options.PendingTimeout]).
func (e *Executor) Start(ctx context.Context, spec *executor.Spec) (*executor.Handle, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	name := groupName(spec, randomSuffix())
	rg := e.opts.ResourceGroup
	_, err := e.groups.BeginCreateOrUpdate(ctx, rg, name, *e.group(spec), nil)
	if err != nil {
		err = createError(explain(err))
		if s := statusOf(err); s >= 400 && s < 500 && s != http.StatusRequestTimeout {
			// Refused: nothing was made.
			return nil, fmt.Errorf("aci: create container group %s/%s: %w", rg, name, err)
		}
		// The group may exist though the answer was lost: Remove it.
		return e.handle(name), fmt.Errorf("aci: create container group %s/%s: %w", rg, name, err)
	}
	h := e.handle(name)
	failpoint.Hit(failpoint.ContainerCreated)
	e.logger.Debug("aci: container group created", "run_id", spec.RunID, "step", spec.Step, "attempt", spec.Attempt, "group", h.ID)
	var v verdict
	err = e.observe(ctx, rg, name, func(g *armcontainerinstance.ContainerGroup, v2 verdict) bool {
		v = v2
		return v.started || v.result != nil || v.err != nil
	})
	if err != nil {
		return h, fmt.Errorf("aci: wait for container group %s to start: %w", h.ID, err)
	}
	if v.err != nil {
		return h, fmt.Errorf("aci: container group %s: %w", h.ID, v.err)
	}
	return h, nil
}

// createError says what Azure's refusal to make a group means for the
// attempt: a quota or a lack of capacity may pass, an image Azure cannot
// reach does not.
func createError(err error) error {
	code := strings.ToLower(codeOf(err))
	switch {
	case strings.Contains(code, "quota"):
		return fmt.Errorf("%w: the subscription's Container Instances quota in this region is used up, so the attempt may be retried once other groups are gone; raise the quota or lower the steps' cpu and memory: %w", executor.ErrUnavailable, err)
	case code == "serviceunavailable" || strings.Contains(code, "capacity") || strings.Contains(code, "notavailable") || code == "toomanyrequests":
		return fmt.Errorf("%w: %w", executor.ErrUnavailable, err)
	case strings.Contains(code, "inaccessibleimage") || strings.Contains(code, "registryerror") || strings.Contains(code, "imageinvalid"):
		return fmt.Errorf("%w: %w; check the image name, and that the registry identity has AcrPull on its registry", executor.ErrImageNotFound, err)
	case strings.Contains(code, "linkedauthorizationfailed") || code == "authorizationfailed":
		return fmt.Errorf("%w; baton's identity needs Contributor on the resource group, and Managed Identity Operator on the identities it attaches (see docs/azure.md)", err)
	}
	if s := statusOf(err); s >= 500 || s == 0 {
		return fmt.Errorf("%w: %w", executor.ErrUnavailable, err)
	}
	return err
}

// observe reads the group until done says the verdict is what the caller
// waits for, with backoff between reads. A group that is gone is
// [executor.ErrNotFound]; an image pull that keeps failing for a reason
// that may pass fails past [Options.PendingTimeout].
func (e *Executor) observe(ctx context.Context, rg, name string, done func(*armcontainerinstance.ContainerGroup, verdict) bool) error {
	delay := e.opts.PollMin
	failures := 0
	var pullingSince time.Time
	for {
		resp, err := e.groups.Get(ctx, rg, name, nil)
		switch {
		case isNotFound(err):
			return fmt.Errorf("container group %s/%s: %w", rg, name, executor.ErrNotFound)
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			// The SDK tried again already; a few more looks ride out a
			// longer outage before Wait's caller hears of it.
			if failures++; failures > 3 {
				return fmt.Errorf("read container group %s/%s: %w", rg, name, explain(err))
			}
		default:
			failures = 0
			now := e.clock.Now()
			v := judge(&resp.ContainerGroup, now)
			if v.pulling != "" && v.err == nil {
				if pullingSince.IsZero() {
					pullingSince = now
				}
				if now.Sub(pullingSince) >= e.opts.PendingTimeout {
					v.never = true
					v.err = fmt.Errorf("%w: image pulls kept failing for %s: %s", executor.ErrUnavailable, e.opts.PendingTimeout, v.pulling)
				}
			}
			if done(&resp.ContainerGroup, v) {
				return nil
			}
		}
		if err := sleep(ctx, e.clock, delay); err != nil {
			return err
		}
		delay = min(delay*3/2, e.opts.PollMax)
	}
}

// randomSuffix makes group names unique.
func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
