package docker

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/imagepolicy"
)

// CheckSpec implements [executor.Checker]. It refuses every spec
// [Executor.Start] would refuse from the spec alone, before making
// anything: one with no image or an image reference the engine cannot
// parse, a pull policy or capability baton does not know, secret names
// that are not plain file names, secrets with an engine on another
// machine (nothing can be bind-mounted there), and limits below what the
// engine and kernel can enforce (see [CheckLimits]). Whether the image is
// there, and whether the engine's host has the CPUs asked for, is left to
// Start: that depends on the engine when the step runs.
func (e *Executor) CheckSpec(spec *executor.Spec) error {
	if spec.Image == "" {
		return fmt.Errorf("docker: %w: step %q has no image; add image: to the step, or run it with --executor process", executor.ErrImageNotFound, spec.Step)
	}
	if err := CheckImageRef(spec.Image); err != nil {
		return fmt.Errorf("docker: step %q: %w", spec.Step, err)
	}
	if err := CheckPull(spec.Pull); err != nil {
		return fmt.Errorf("docker: step %q: %w", spec.Step, err)
	}
	if _, err := capAdd(spec.CapAdd); err != nil {
		return err
	}
	if err := executor.CheckSecretNames(spec.Secrets); err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	if !e.local && len(spec.Secrets) > 0 {
		return fmt.Errorf("docker: step %q has secrets, but the engine at %s is not on this machine, so they cannot be mounted; use a local engine, or read them through the callback API (GET $BATON_CALLBACK_URL/secrets/<name>)",
			spec.Step, e.cli.DaemonHost())
	}
	if err := CheckLimits(e.limits(spec.Limits)); err != nil {
		return fmt.Errorf("docker: step %q: %w", spec.Step, err)
	}
	return nil
}

// CheckImageRef refuses an image reference a Docker engine cannot parse,
// such as one in upper case or with a space, with
// [executor.ErrImageNotFound]: no retry can find it. A reference that is
// an image ID is left to the engine (see [imagepolicy.IsImageID]).
func CheckImageRef(ref string) error {
	if imagepolicy.IsImageID(ref) {
		return nil
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return fmt.Errorf("%w: %.128q is not an image reference (%v); write name[:tag][@digest] in lower case, e.g. busybox:1.36",
			executor.ErrImageNotFound, ref, refProblem(ref, err))
	}
	return nil
}

// refProblem is what the parser's error says of ref, without quoting ref
// itself, as some of its errors do, unbounded.
func refProblem(ref string, err error) string {
	for _, known := range []error{
		reference.ErrReferenceInvalidFormat, reference.ErrTagInvalidFormat,
		reference.ErrDigestInvalidFormat, reference.ErrNameContainsUppercase, reference.ErrNameEmpty,
		reference.ErrNameTooLong, reference.ErrNameNotCanonical,
	} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	// The one error it does not wrap, but for a 64-digit hex name, which
	// is an image ID: a name with upper case.
	if strings.ToLower(ref) != ref {
		return reference.ErrNameContainsUppercase.Error()
	}
	return reference.ErrReferenceInvalidFormat.Error()
}

// CheckPull refuses a pull policy baton does not know.
func CheckPull(policy string) error {
	switch policy {
	case "", executor.PullIfMissing, executor.PullNever, executor.PullAlways:
		return nil
	}
	return fmt.Errorf("unknown pull policy %.64q (want %q, %q or %q)",
		policy, executor.PullAlways, executor.PullIfMissing, executor.PullNever)
}

// The smallest limits an engine enforces. A Docker engine refuses a
// memory limit under 6 MiB when it creates the container. A CPU limit
// becomes a CFS quota of NanoCPUs×100 ms/1e9 per 100 ms period, which the
// kernel refuses under 1 ms, so the container fails to start; and a quota
// that rounds to 0, under 0.00001 CPU, is no limit at all, silently.
const (
	MinMemoryBytes = 6 << 20
	MinNanoCPUs    = 10_000_000 // 0.01 CPU
)

// CheckLimits refuses limits a Docker engine (or a swarm node's) cannot
// enforce: memory under [MinMemoryBytes], CPUs under [MinNanoCPUs]. Zero
// is no limit, and is not refused.
func CheckLimits(l executor.Limits) error {
	if l.MemoryBytes > 0 && l.MemoryBytes < MinMemoryBytes {
		return fmt.Errorf("memory limit %s is below the %s a Docker engine accepts; set resources.memory to 6Mi or more", bytesString(l.MemoryBytes), bytesString(MinMemoryBytes))
	}
	if l.NanoCPUs > 0 && l.NanoCPUs < MinNanoCPUs {
		return fmt.Errorf("CPU limit %s is below 0.01, the least the kernel enforces (a quota of 1 ms per 100 ms); set resources.cpus to 0.01 or more", cpusString(l.NanoCPUs))
	}
	return nil
}

func bytesString(b int64) string {
	if b%(1<<20) == 0 {
		return strconv.FormatInt(b>>20, 10) + " MiB"
	}
	return strconv.FormatInt(b, 10) + " bytes"
}

func cpusString(nano int64) string {
	return strconv.FormatFloat(float64(nano)/1e9, 'f', -1, 64) + " CPUs"
}
