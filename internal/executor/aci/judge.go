package aci

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/baton-dev/baton/internal/executor"
)

// ExitStopped is the exit code of an attempt baton stopped: Azure stops a
// group's containers at once, as SIGKILL would.
const ExitStopped = 137

// verdict is what one look at a group says about its attempt.
type verdict struct {
	// started: the step's container runs, or ran.
	started bool
	// result: the step's container ended.
	result *executor.Result
	// err: the attempt failed without the step's command ending, for the
	// reason it says.
	err error
	// never: err means the command never ran.
	never bool
	// pulling: an image pull failed for a reason that may pass; the
	// attempt fails once that has gone on past the pending timeout.
	pulling string
}

// judge reads the group's instance view.
func judge(g *armcontainerinstance.ContainerGroup, now time.Time) verdict {
	p := g.Properties
	if p == nil {
		return verdict{}
	}
	stopped, stoppedAt := stopTag(g.Tags)
	groupState := ""
	if p.InstanceView != nil {
		groupState = deref(p.InstanceView.State)
	}
	step := stepOf(p)
	var cur *armcontainerinstance.ContainerState
	var events []*armcontainerinstance.Event
	if step != nil && step.Properties != nil && step.Properties.InstanceView != nil {
		cur = step.Properties.InstanceView.CurrentState
		events = step.Properties.InstanceView.Events
	}
	if cur != nil && strings.EqualFold(deref(cur.State), "Terminated") {
		finished := deref(cur.FinishTime)
		if stopped && (finished.IsZero() || !finished.Before(stoppedAt)) {
			return verdict{started: true, result: &executor.Result{ExitCode: ExitStopped, FinishedAt: first(finished, stoppedAt, now)}}
		}
		if cur.ExitCode == nil {
			return verdict{started: true, err: fmt.Errorf("the step's container ended without an exit code (%s)", oneLine(deref(cur.DetailStatus)))}
		}
		return verdict{started: true, result: &executor.Result{
			ExitCode:   int(*cur.ExitCode),
			OOMKilled:  strings.Contains(strings.ToLower(deref(cur.DetailStatus)), "oom"),
			FinishedAt: first(finished, now),
		}}
	}
	if strings.EqualFold(groupState, "Stopped") {
		if stopped {
			return verdict{started: true, result: &executor.Result{ExitCode: ExitStopped, FinishedAt: first(stoppedAt, now)}}
		}
		return verdict{err: fmt.Errorf("the container group was stopped outside baton: %w", executor.ErrLost)}
	}
	if cur != nil && strings.EqualFold(deref(cur.State), "Running") {
		return verdict{started: true}
	}
	if init := helperOf(p); init != nil {
		if v, ok := judgeHelper(init); ok {
			return v
		}
	}
	if msg, final := pullFailure(events); msg != "" {
		if final {
			return verdict{never: true, err: fmt.Errorf("%w: %s", executor.ErrImageNotFound, msg)}
		}
		return verdict{pulling: msg}
	}
	if strings.EqualFold(deref(p.ProvisioningState), "Failed") || strings.EqualFold(groupState, "Failed") {
		return verdict{never: true, err: errors.New("azure could not run the container group" + said(p.InstanceView, events))}
	}
	return verdict{}
}

// judgeHelper reads the init container that installs the wrapper: one
// that failed to pull or exited non-zero fails the attempt.
func judgeHelper(init *armcontainerinstance.InitContainerDefinition) (verdict, bool) {
	iv := init.Properties.InstanceView
	if iv == nil {
		return verdict{}, false
	}
	if cur := iv.CurrentState; cur != nil && strings.EqualFold(deref(cur.State), "Terminated") && cur.ExitCode != nil && *cur.ExitCode != 0 {
		return verdict{never: true, err: fmt.Errorf("the helper container that installs baton's wrapper exited %d; helper_image must hold baton's static binary at helper_path", *cur.ExitCode)}, true
	}
	if msg, final := pullFailure(iv.Events); msg != "" {
		if final {
			return verdict{never: true, err: fmt.Errorf("helper image: %w: %s", executor.ErrImageNotFound, msg)}, true
		}
		return verdict{pulling: "helper image: " + msg}, true
	}
	return verdict{}, false
}

// pullFailure finds a failed image pull among events: its message, and
// whether trying longer cannot help (the image is not there, or baton's
// registry identity may not pull it).
func pullFailure(events []*armcontainerinstance.Event) (msg string, final bool) {
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		m := deref(ev.Message)
		lower := strings.ToLower(m)
		if !strings.Contains(lower, "pull") || !(strings.EqualFold(deref(ev.Type), "Warning") || strings.EqualFold(deref(ev.Name), "Failed")) {
			continue
		}
		for _, s := range []string{"not found", "manifest unknown", "does not exist", "unauthorized", "denied", "inaccessibleimage", "repository name must"} {
			if strings.Contains(lower, s) {
				return oneLine(m), true
			}
		}
		return oneLine(m), false
	}
	return "", false
}

// said is ": " and the last warning Azure gave, of the group or the
// step's container, or "".
func said(iv *armcontainerinstance.ContainerGroupPropertiesInstanceView, events []*armcontainerinstance.Event) string {
	var all []*armcontainerinstance.Event
	if iv != nil {
		all = append(all, iv.Events...)
	}
	all = append(all, events...)
	var last *armcontainerinstance.Event
	for _, ev := range all {
		if ev == nil || ev.Message == nil {
			continue
		}
		if last == nil || deref(last.LastTimestamp).Before(deref(ev.LastTimestamp)) {
			last = ev
		}
	}
	if last == nil {
		return ""
	}
	return ": " + oneLine(strings.TrimSpace(deref(last.Name)+" "+deref(last.Message)))
}

// stopTag reports whether baton stopped the group, and when.
func stopTag(tags map[string]*string) (bool, time.Time) {
	v, ok := tags[StoppedTag]
	if !ok || v == nil {
		return false, time.Time{}
	}
	at, _ := time.Parse(time.RFC3339Nano, *v)
	return true, at
}

// first is the first of times that is set.
func first(times ...time.Time) time.Time {
	for _, t := range times {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func stepOf(p *armcontainerinstance.ContainerGroupPropertiesProperties) *armcontainerinstance.Container {
	for _, c := range p.Containers {
		if c != nil && deref(c.Name) == stepContainer {
			return c
		}
	}
	return nil
}

func helperOf(p *armcontainerinstance.ContainerGroupPropertiesProperties) *armcontainerinstance.InitContainerDefinition {
	for _, c := range p.InitContainers {
		if c != nil && c.Properties != nil && deref(c.Name) == helperContainer {
			return c
		}
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
