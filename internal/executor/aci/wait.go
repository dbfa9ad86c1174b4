package aci

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/baton-dev/baton/internal/executor"
)

// Wait implements [executor.Executor]. It works as well for a group that
// ended long ago, as long as it has not been removed. The exit code comes
// from the step container's instance view; [executor.Result.Output] is nil:
// outputs arrive through the callback (see the package doc).
//
// Before it returns how the attempt ended, Wait lets every
// [Executor.FollowLogs] of the attempt read the log to its end, so the
// engine archives it whole before it removes the group.
//
// A group that is gone is [executor.ErrNotFound]; one whose command never
// ran (an image that cannot be pulled, a group Azure could not run) is
// [executor.ErrNeverStarted], with what Azure said.
func (e *Executor) Wait(ctx context.Context, h *executor.Handle) (*executor.Result, error) {
	rg, name, err := parseHandle(h)
	if err != nil {
		return nil, err
	}
	var v verdict
	err = e.observe(ctx, rg, name, func(_ *armcontainerinstance.ContainerGroup, got verdict) bool {
		v = got
		return v.result != nil || v.err != nil
	})
	if err == nil {
		e.follows.finish(ctx, name)
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("aci: wait for container group %s: %w", h.ID, err)
	case v.err != nil && v.never:
		return nil, fmt.Errorf("aci: container group %s: %w: %w", h.ID, v.err, executor.ErrNeverStarted)
	case v.err != nil:
		return nil, fmt.Errorf("aci: container group %s: %w", h.ID, v.err)
	}
	return v.result, nil
}

// Stop implements [executor.Executor]. Azure stops a group's containers
// at once, so grace is not used: the step is killed, and Wait reports
// [ExitStopped]. The group is first tagged with [StoppedTag], so that its
// end reads as baton's stop whatever the instance view shows after.
func (e *Executor) Stop(ctx context.Context, h *executor.Handle, _ time.Duration) error {
	rg, name, err := parseHandle(h)
	if err != nil {
		return err
	}
	resp, err := e.groups.Get(ctx, rg, name, nil)
	if isNotFound(err) {
		return fmt.Errorf("aci: stop container group %s: %w", h.ID, executor.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("aci: stop container group %s: %w", h.ID, explain(err))
	}
	if stopped, _ := stopTag(resp.Tags); !stopped {
		tags := make(map[string]*string, len(resp.Tags)+1)
		for k, v := range resp.Tags {
			tags[k] = v
		}
		tags[StoppedTag] = to.Ptr(e.clock.Now().UTC().Format(time.RFC3339Nano))
		if _, err := e.groups.Update(ctx, rg, name, armcontainerinstance.Resource{Tags: tags}, nil); err != nil {
			if isNotFound(err) {
				return fmt.Errorf("aci: stop container group %s: %w", h.ID, executor.ErrNotFound)
			}
			return fmt.Errorf("aci: stop container group %s: tag it stopped: %w", h.ID, explain(err))
		}
	}
	if _, err := e.groups.Stop(ctx, rg, name, nil); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("aci: stop container group %s: %w", h.ID, executor.ErrNotFound)
		}
		return fmt.Errorf("aci: stop container group %s: %w", h.ID, explain(err))
	}
	return nil
}

// Remove implements [executor.Executor]: it deletes the group, with its
// secret volumes, and waits until Azure no longer has it, as long as ctx
// allows, so a Remove that returns nil leaves nothing behind. Gone already
// is fine. One call is one try: the engine tries again with backoff, and
// counts and records every failed try on the attempt.
func (e *Executor) Remove(ctx context.Context, h *executor.Handle) error {
	rg, name, err := parseHandle(h)
	if err != nil {
		if errors.Is(err, executor.ErrNotFound) {
			return nil
		}
		return err
	}
	if _, err := e.groups.BeginDelete(ctx, rg, name, nil); err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("aci: delete container group %s: %w", h.ID, explain(err))
	}
	// A group Azure keeps deleting is a failed try, not a Remove that
	// never returns: the engine tries again.
	wctx, cancel := context.WithTimeout(ctx, removeWait)
	defer cancel()
	err = e.observe(wctx, rg, name, func(*armcontainerinstance.ContainerGroup, verdict) bool { return false })
	if errors.Is(err, executor.ErrNotFound) {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("aci: delete container group %s: Azure still has it after %s", h.ID, removeWait)
	}
	return fmt.Errorf("aci: delete container group %s: wait for it to go: %w", h.ID, err)
}

// removeWait bounds how long Remove waits for a deleted group to go.
const removeWait = 10 * time.Minute

// ListOwned implements [executor.Lister]: every group of the resource
// group tagged [executor.LabelManaged] (and with this installation's
// instance), with the run, step and attempt it was made for.
func (e *Executor) ListOwned(ctx context.Context) ([]executor.Owned, error) {
	var owned []executor.Owned
	pager := e.groups.NewListByResourceGroupPager(e.opts.ResourceGroup, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("aci: list container groups in resource group %s: %w", e.opts.ResourceGroup, explain(err))
		}
		for _, g := range page.Value {
			if g == nil || g.Name == nil || !e.owns(g.Tags) {
				continue
			}
			o := executor.Owned{
				Handle: e.handle(*g.Name),
				RunID:  deref(g.Tags[executor.LabelRun]),
				Step:   deref(g.Tags[executor.LabelStep]),
			}
			if o.Attempt, err = strconv.Atoi(deref(g.Tags[executor.LabelAttempt])); err != nil {
				e.logger.Warn("aci: container group without a valid attempt tag", "group", *g.Name, "attempt", deref(g.Tags[executor.LabelAttempt]))
			}
			owned = append(owned, o)
		}
	}
	return owned, nil
}

// owns reports whether tags mark a group of this installation's.
func (e *Executor) owns(tags map[string]*string) bool {
	if deref(tags[executor.LabelManaged]) != "true" {
		return false
	}
	return e.opts.Instance == "" || deref(tags[executor.LabelInstance]) == e.opts.Instance
}
