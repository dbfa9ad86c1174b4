package kubernetes

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/baton-dev/baton/internal/executor"
)

// maxName is the longest Job name: a Job's name becomes a label value on
// its pods, which is at most 63 characters.
const maxName = validation.DNS1123LabelMaxLength

// Container names in every step's pod.
const (
	stepContainer   = "step"
	helperContainer = "baton-helper"
)

// jobName is baton-<run>-<step>-<attempt>, reduced to a DNS-1123 label,
// cut to fit, and made unique by a random suffix: Job names are reused by
// nothing, and an attempt started again after a failed Start must not find
// its own earlier Job in the way.
func jobName(spec *executor.Spec) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	suffix := "-" + hex.EncodeToString(b[:])
	body := dnsUnsafe.ReplaceAllString(strings.ToLower(spec.Slug(253)), "-")
	body = strings.Trim(body, "-")
	if max := maxName - len("baton-") - len(suffix); len(body) > max {
		body = strings.TrimRight(body[:max], "-")
	}
	if body == "" {
		return "baton" + suffix
	}
	return "baton-" + body + suffix
}

// dnsUnsafe are runs of what a DNS-1123 label cannot hold.
var dnsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// labels select an attempt's objects: the Job, its pod and its Secret.
// Values that are not valid label values (a step name may end in "-")
// are left out; the exact values are in [annotations].
func (e *Executor) labels(spec *executor.Spec) map[string]string {
	l := map[string]string{
		executor.LabelManaged: "true",
		executor.LabelAttempt: strconv.Itoa(spec.Attempt),
	}
	for k, v := range map[string]string{executor.LabelRun: spec.RunID, executor.LabelStep: spec.Step} {
		if len(validation.IsValidLabelValue(v)) == 0 {
			l[k] = v
		}
	}
	if e.opts.Instance != "" {
		l[executor.LabelInstance] = e.opts.Instance
	}
	return l
}

// annotations hold the attempt's run, step and attempt verbatim, for
// [Executor.ListOwned].
func annotations(spec *executor.Spec) map[string]string {
	return map[string]string{
		executor.LabelRun:     spec.RunID,
		executor.LabelStep:    spec.Step,
		executor.LabelAttempt: strconv.Itoa(spec.Attempt),
	}
}

// ownedSelector selects baton's Jobs, and only this installation's when it
// has an instance name.
func (e *Executor) ownedSelector() string {
	s := executor.LabelManaged + "=true"
	if e.opts.Instance != "" {
		s += "," + executor.LabelInstance + "=" + e.opts.Instance
	}
	return s
}
