package aci

import (
	"encoding/base64"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"
	"github.com/distribution/reference"

	"github.com/baton-dev/baton/internal/executor"
)

// Container and volume names in every group, and where things are in the
// step's container.
const (
	stepContainer   = "step"
	helperContainer = "baton-helper"

	helperVolume  = "baton-helper"
	secretsVolume = "baton-secrets"
	tokenVolume   = "baton-token"

	// helperDir holds the wrapper, copied there by the init container.
	helperDir = "/baton-helper"
	// tokenDir holds the callback token, apart from the step's secrets so
	// that no secret name can collide with it.
	tokenDir = "/run/baton"
	// tokenName is the token's file in tokenDir.
	tokenName = "token"
)

// wrapperPath is the wrapper in the step's container.
var wrapperPath = path.Join(helperDir, "baton")

// StoppedTag marks a group baton stopped, with the time it did, so that
// Wait reports the end as a stop and not as the step's own.
const StoppedTag = "dev.baton.stopped"

// maxName is the longest container group name Azure takes.
const maxName = 63

// groupName is baton-<run>-<step>-<attempt>, reduced to what Azure takes
// (lower-case letters, digits, single dashes), cut to fit, and made
// unique by suffix so that an attempt started again after a failed Start
// never finds its own earlier group in the way.
func groupName(spec *executor.Spec, suffix string) string {
	body := strings.ToLower(spec.Slug(253))
	body = nameUnsafe.ReplaceAllString(body, "-")
	body = strings.Trim(body, "-")
	suffix = "-" + suffix
	if m := maxName - len("baton-") - len(suffix); len(body) > m {
		body = strings.TrimRight(body[:m], "-")
	}
	if body == "" {
		return "baton" + suffix
	}
	return "baton-" + body + suffix
}

// nameUnsafe are runs of what a group name cannot hold, dashes included,
// so that no two dashes follow each other.
var nameUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// tags mark what baton owns, with the attempt's run, step and attempt
// verbatim (a tag value holds up to 256 characters).
func (e *Executor) tags(spec *executor.Spec) map[string]*string {
	t := map[string]*string{
		executor.LabelManaged: to.Ptr("true"),
		executor.LabelRun:     to.Ptr(spec.RunID),
		executor.LabelStep:    to.Ptr(spec.Step),
		executor.LabelAttempt: to.Ptr(strconv.Itoa(spec.Attempt)),
	}
	if e.opts.Instance != "" {
		t[executor.LabelInstance] = to.Ptr(e.opts.Instance)
	}
	return t
}

// maxTagValue is the longest tag value Azure takes.
const maxTagValue = 256

// checkSpec refuses what a container group cannot do as the step asks,
// rather than run it with less than it asked for.
func checkSpec(spec *executor.Spec) error {
	if spec.Image == "" {
		return fmt.Errorf("aci: %w: step %q has no image; add image: to the step", executor.ErrImageNotFound, spec.Step)
	}
	if len(spec.Command) == 0 {
		return fmt.Errorf("aci: step %q has no command; on Azure Container Instances the command runs under baton's wrapper, so the image's own entrypoint and command are not used", spec.Step)
	}
	if err := executor.CheckSecretNames(spec.Secrets); err != nil {
		return fmt.Errorf("aci: %w", err)
	}
	for name := range spec.Secrets {
		if !secretName.MatchString(name) {
			return fmt.Errorf("aci: secret name %q cannot be a file in an Azure secret volume; use letters, digits, dots, dashes and underscores", name)
		}
	}
	if spec.User != "" {
		return fmt.Errorf("aci: step %q sets user %q, but Azure Container Instances runs a standard container group's containers as the image's user; remove user: from the step, or run it on another executor", spec.Step, spec.User)
	}
	if spec.ReadOnlyRoot {
		return fmt.Errorf("aci: step %q asks for a read-only root file system, which Azure Container Instances cannot give; remove read_only_root: from the step, or run it on another executor", spec.Step)
	}
	if len(spec.CapAdd) > 0 {
		return fmt.Errorf("aci: step %q adds capabilities, which Azure Container Instances cannot grant a standard container group; remove cap_add: from the step, or run it on another executor", spec.Step)
	}
	for k, v := range map[string]string{"run": spec.RunID, "step": spec.Step} {
		if len(v) > maxTagValue {
			return fmt.Errorf("aci: %s name %.40q… is over %d characters, the most an Azure tag holds; shorten it", k, v, maxTagValue)
		}
	}
	return nil
}

var secretName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// group is the container group of one attempt.
func (e *Executor) group(spec *executor.Spec) *armcontainerinstance.ContainerGroup {
	cpu, mem := e.resources(spec.Limits)
	command := append([]*string{to.Ptr(wrapperPath), to.Ptr("step-wrap"), to.Ptr("--")}, to.SliceOfPtrs(spec.Command...)...)
	mounts := []*armcontainerinstance.VolumeMount{{Name: to.Ptr(helperVolume), MountPath: to.Ptr(helperDir), ReadOnly: to.Ptr(true)}}
	volumes := []*armcontainerinstance.Volume{{Name: to.Ptr(helperVolume), EmptyDir: map[string]any{}}}
	// A secret volume needs at least one file.
	if len(spec.Secrets) > 0 {
		mounts = append(mounts, &armcontainerinstance.VolumeMount{Name: to.Ptr(secretsVolume), MountPath: to.Ptr(executor.SecretsDir), ReadOnly: to.Ptr(true)})
		volumes = append(volumes, &armcontainerinstance.Volume{Name: to.Ptr(secretsVolume), Secret: secretFiles(spec.Secrets)})
	}
	if spec.Token != "" {
		mounts = append(mounts, &armcontainerinstance.VolumeMount{Name: to.Ptr(tokenVolume), MountPath: to.Ptr(tokenDir), ReadOnly: to.Ptr(true)})
		volumes = append(volumes, &armcontainerinstance.Volume{Name: to.Ptr(tokenVolume), Secret: secretFiles(map[string][]byte{tokenName: []byte(spec.Token)})})
	}
	props := &armcontainerinstance.ContainerGroupPropertiesProperties{
		OSType:        to.Ptr(armcontainerinstance.OperatingSystemTypesLinux),
		RestartPolicy: to.Ptr(armcontainerinstance.ContainerGroupRestartPolicyNever),
		SKU:           to.Ptr(armcontainerinstance.ContainerGroupSKUStandard),
		InitContainers: []*armcontainerinstance.InitContainerDefinition{{
			Name: to.Ptr(helperContainer),
			Properties: &armcontainerinstance.InitContainerPropertiesDefinition{
				Image:        to.Ptr(e.opts.HelperImage),
				Command:      to.SliceOfPtrs(e.opts.HelperPath, "step-wrap", "--install", wrapperPath),
				VolumeMounts: []*armcontainerinstance.VolumeMount{{Name: to.Ptr(helperVolume), MountPath: to.Ptr(helperDir)}},
			},
		}},
		Containers: []*armcontainerinstance.Container{{
			Name: to.Ptr(stepContainer),
			Properties: &armcontainerinstance.ContainerProperties{
				Image:                to.Ptr(spec.Image),
				Command:              command,
				EnvironmentVariables: envList(spec),
				Resources: &armcontainerinstance.ResourceRequirements{
					Requests: &armcontainerinstance.ResourceRequests{CPU: to.Ptr(cpu), MemoryInGB: to.Ptr(mem)},
				},
				VolumeMounts: mounts,
			},
		}},
		Volumes:                  volumes,
		ImageRegistryCredentials: e.registryCredentials(spec.Image, e.opts.HelperImage),
	}
	if e.opts.Subnet != "" {
		props.SubnetIDs = []*armcontainerinstance.ContainerGroupSubnetID{{ID: to.Ptr(e.opts.Subnet)}}
	}
	g := &armcontainerinstance.ContainerGroup{
		Location:   to.Ptr(e.opts.Location),
		Tags:       e.tags(spec),
		Properties: props,
	}
	if ids := e.identities(); len(ids) > 0 {
		g.Identity = &armcontainerinstance.ContainerGroupIdentity{
			Type:                   to.Ptr(armcontainerinstance.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: ids,
		}
	}
	return g
}

// identities are the user-assigned identities every group carries: the
// step's own, and the one it pulls images with, which Azure requires to be
// the group's too.
func (e *Executor) identities() map[string]*armcontainerinstance.UserAssignedIdentities {
	ids := map[string]*armcontainerinstance.UserAssignedIdentities{}
	for _, id := range []string{e.opts.Identity, e.opts.RegistryIdentity} {
		if id != "" {
			ids[id] = &armcontainerinstance.UserAssignedIdentities{}
		}
	}
	return ids
}

// registryCredentials let the group pull from each registry of images with
// the registry identity. Images from Docker Hub are pulled anonymously.
func (e *Executor) registryCredentials(images ...string) []*armcontainerinstance.ImageRegistryCredential {
	if e.opts.RegistryIdentity == "" {
		return nil
	}
	seen := map[string]bool{}
	var creds []*armcontainerinstance.ImageRegistryCredential
	for _, image := range images {
		host := registryHost(image)
		if host == "" || seen[host] {
			continue
		}
		seen[host] = true
		creds = append(creds, &armcontainerinstance.ImageRegistryCredential{Server: to.Ptr(host), Identity: to.Ptr(e.opts.RegistryIdentity)})
	}
	return creds
}

// registryHost is the registry of image, or "" for Docker Hub or a
// reference that does not parse.
func registryHost(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	host := reference.Domain(named)
	if host == "docker.io" {
		return ""
	}
	return host
}

// secretFiles are files of a secret volume: their contents, base64.
func secretFiles(files map[string][]byte) map[string]*string {
	out := make(map[string]*string, len(files))
	for name, data := range files {
		out[name] = to.Ptr(base64.StdEncoding.EncodeToString(data))
	}
	return out
}

// envList is the step's environment in a stable order, its secrets as
// secure values, with the secret files' and token's paths, which only the
// executor knows. [executor.EnvOutput]
// is the wrapper's to set.
func envList(spec *executor.Spec) []*armcontainerinstance.EnvironmentVariable {
	names := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		switch k {
		case executor.EnvOutput, executor.EnvSecretsDir, executor.EnvToken, executor.EnvTokenFile:
		default:
			names = append(names, k)
		}
	}
	sort.Strings(names)
	env := make([]*armcontainerinstance.EnvironmentVariable, 0, len(names)+2)
	for _, k := range names {
		v := &armcontainerinstance.EnvironmentVariable{Name: to.Ptr(k), Value: to.Ptr(spec.Env[k])}
		if slices.Contains(spec.SecretEnv, k) {
			// Azure never shows a secure value again.
			v.Value, v.SecureValue = nil, to.Ptr(spec.Env[k])
		}
		env = append(env, v)
	}
	env = append(env, &armcontainerinstance.EnvironmentVariable{Name: to.Ptr(executor.EnvSecretsDir), Value: to.Ptr(executor.SecretsDir)})
	if spec.Token != "" {
		env = append(env, &armcontainerinstance.EnvironmentVariable{Name: to.Ptr(executor.EnvTokenFile), Value: to.Ptr(path.Join(tokenDir, tokenName))})
	}
	return env
}

// resources are the cores and GB the step's container requests: the
// step's limits, else the defaults, rounded up to what Azure takes (a
// hundredth of a core, a tenth of a GB).
func (e *Executor) resources(l executor.Limits) (cpu, memGB float64) {
	cpu, memGB = e.opts.CPU, e.opts.MemoryGB
	if l.NanoCPUs == 0 {
		l.NanoCPUs = e.opts.DefaultLimits.NanoCPUs
	}
	if l.MemoryBytes == 0 {
		l.MemoryBytes = e.opts.DefaultLimits.MemoryBytes
	}
	if l.NanoCPUs > 0 {
		cpu = math.Ceil(float64(l.NanoCPUs)/1e7) / 100
	}
	if l.MemoryBytes > 0 {
		memGB = math.Ceil(float64(l.MemoryBytes)/(1<<30)*10) / 10
	}
	return cpu, memGB
}
