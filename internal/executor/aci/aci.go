// Package aci runs each step attempt as an Azure Container Instances
// container group, through the Azure SDK for Go. One group per attempt,
// restart policy Never (baton decides about retries), tagged with
// [executor.LabelManaged] and the attempt's run, step and attempt so that a
// restarted baton finds what it owns by listing the resource group.
//
// Baton authenticates with azidentity only (managed identity, workload
// identity, the Azure CLI or the environment): nothing in its configuration
// is a key. Every group gets the configured user-assigned identity, so the
// step can get Azure tokens of its own, and pulls from the registry with the
// registry identity instead of an admin password.
//
// The step's environment is plain environment variables; its secrets and
// callback token are files in secret volumes (memory-backed, never shown by
// the API), never values. The service cannot hand the output file back, so
// the command runs under `baton step-wrap` (package stepwrap), which an
// init container copies from [Options.HelperImage] into a volume the step's
// container shares; outputs reach baton through the callback and
// [executor.Result.Output] is always nil.
//
// Container Instances has no watch: Start and Wait poll the group's instance
// view with backoff, and every request of one executor (polls, logs,
// creations, deletions) takes a token from one bucket, so a burst of
// attempts stays within [Options.RequestRate]. Throttling answers (429) are
// honoured: their Retry-After holds back every request of the executor, not
// only the one refused.
package aci

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/baton-dev/baton/internal/executor"
)

// Defaults of [Options].
const (
	DefaultName           = "aci"
	DefaultHelperPath     = "/baton"
	DefaultCPU            = 1.0
	DefaultMemoryGB       = 1.5
	DefaultRequestRate    = 5.0
	DefaultRequestBurst   = 10
	DefaultPollMin        = time.Second
	DefaultPollMax        = 15 * time.Second
	DefaultLogPoll        = 3 * time.Second
	DefaultPendingTimeout = 10 * time.Minute
)

// Options configure an [Executor].
type Options struct {
	// Name is the executor's name in handles and in baton's registry;
	// empty means [DefaultName].
	Name string
	// Subscription, ResourceGroup and Location say where container
	// groups are made. Baton needs Contributor on that resource group
	// only. Required.
	Subscription  string
	ResourceGroup string
	Location      string
	// Identity is the resource ID of the user-assigned identity every
	// group gets, so its step can get Azure tokens; empty gives none.
	Identity string
	// RegistryIdentity is the resource ID of the user-assigned identity
	// the groups pull their images with (it needs AcrPull); empty pulls
	// anonymously.
	RegistryIdentity string
	// Subnet, when set, is the resource ID of the subnet the groups join,
	// for a private path to baton's callback URL.
	Subnet string

	// HelperImage holds baton's static binary at HelperPath; an init
	// container copies it into every group (see the package doc).
	// Required.
	HelperImage string
	// HelperPath is where baton is in HelperImage; empty means
	// [DefaultHelperPath].
	HelperPath string

	// CPU (cores) and MemoryGB are what a step gets when neither it nor
	// DefaultLimits say; zero means [DefaultCPU] and [DefaultMemoryGB].
	CPU      float64
	MemoryGB float64
	// DefaultLimits apply to attempts whose spec leaves a limit zero,
	// before CPU and MemoryGB. PIDs cannot be bounded and are ignored.
	DefaultLimits executor.Limits

	// RequestRate bounds the executor's requests to Azure, per second,
	// with bursts of up to RequestBurst; zero means [DefaultRequestRate]
	// and [DefaultRequestBurst].
	RequestRate  float64
	RequestBurst int
	// PollMin and PollMax bound the backoff between two reads of a
	// group's instance view; zero means [DefaultPollMin] and
	// [DefaultPollMax].
	PollMin, PollMax time.Duration
	// LogPoll is how often a running step's log is read; zero means
	// [DefaultLogPoll].
	LogPoll time.Duration
	// PendingTimeout is how long a group may fail to pull an image for a
	// reason that may pass before the attempt fails; zero means
	// [DefaultPendingTimeout].
	PendingTimeout time.Duration

	// Instance names this baton installation; its groups carry it, and
	// ListOwned sees only them.
	Instance string

	// Credential authenticates baton to Azure; nil means the credential
	// [NewCredential] makes with CredentialKind and ClientID.
	Credential azcore.TokenCredential
	// CredentialKind and ClientID choose the credential; see
	// [NewCredential].
	CredentialKind string
	ClientID       string
	// Client, when set, configures the clients: another cloud, or a
	// transport for tests. Its retry and per-retry policies are baton's
	// own and are replaced.
	Client *arm.ClientOptions

	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger

	// clock is real time unless a test sets it.
	clock clock
}

// Executor runs attempts as container groups. Everything it needs is in
// the resource group, so any Executor on the same resource group can
// wait for, stop or remove an attempt another one started, including one
// from before a restart.
type Executor struct {
	name       string
	opts       Options
	groups     *armcontainerinstance.ContainerGroupsClient
	containers *armcontainerinstance.ContainersClient
	throttle   *throttle
	clock      clock
	logger     *slog.Logger
	follows    *follows
}

var (
	_ executor.Executor    = (*Executor)(nil)
	_ executor.LogFollower = (*Executor)(nil)
	_ executor.Lister      = (*Executor)(nil)
	_ executor.Checker     = (*Executor)(nil)
)

// New returns an executor. It contacts nothing; see [Executor.Ping].
func New(opts Options) (*Executor, error) {
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	opts.defaults()
	cred := opts.Credential
	if cred == nil {
		var err error
		if cred, err = NewCredential(opts.CredentialKind, opts.ClientID, opts.Client); err != nil {
			return nil, err
		}
	}
	e := &Executor{name: opts.Name, opts: opts, clock: opts.clock, logger: opts.Logger, follows: newFollows()}
	e.throttle = newThrottle(opts.RequestRate, opts.RequestBurst, e.clock, e.logger)
	co := &arm.ClientOptions{}
	if opts.Client != nil {
		*co = *opts.Client
	}
	// Baton's Contributor role on one resource group cannot register
	// resource providers; a missing registration is an error that says so.
	co.DisableRPRegistration = true
	co.Retry = retryOptions()
	co.PerRetryPolicies = []policy.Policy{e.throttle}
	co.Telemetry.ApplicationID = "baton"
	factory, err := armcontainerinstance.NewClientFactory(opts.Subscription, cred, co)
	if err != nil {
		return nil, fmt.Errorf("aci: client: %w", err)
	}
	e.groups, e.containers = factory.NewContainerGroupsClient(), factory.NewContainersClient()
	return e, nil
}

// retryOptions leave throttling (429) to the executor's own policy, which
// holds every request back, not only the refused one.
func retryOptions() policy.RetryOptions {
	return policy.RetryOptions{
		MaxRetries: 4,
		StatusCodes: []int{
			http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		},
	}
}

// check refuses options that cannot work, saying which field to fix.
func (o *Options) check() error {
	for _, f := range []struct{ name, value string }{
		{"subscription", o.Subscription}, {"resource_group", o.ResourceGroup}, {"location", o.Location},
	} {
		if strings.TrimSpace(f.value) == "" {
			return fmt.Errorf("aci: no %s; set the Azure %s the container groups are made in", f.name, strings.ReplaceAll(f.name, "_", " "))
		}
	}
	if o.HelperImage == "" {
		return errors.New("aci: no helper image; set the image that holds baton's static binary (helper_image), which every step's container group needs to return its output file")
	}
	for _, f := range []struct{ name, value, kind string }{
		{"identity", o.Identity, "Microsoft.ManagedIdentity/userAssignedIdentities"},
		{"registry_identity", o.RegistryIdentity, "Microsoft.ManagedIdentity/userAssignedIdentities"},
		{"subnet", o.Subnet, "Microsoft.Network/virtualNetworks"},
	} {
		if f.value != "" && !isResourceID(f.value, f.kind) {
			return fmt.Errorf("aci: %s %q is not the resource ID of a %s; give it as /subscriptions/…/resourceGroups/…/providers/%s/…", f.name, f.value, f.kind, f.kind)
		}
	}
	if o.CPU < 0 || o.MemoryGB < 0 || o.RequestRate < 0 || o.RequestBurst < 0 {
		return errors.New("aci: cpu, memory_gb, request_rate and request_burst cannot be negative")
	}
	return nil
}

func (o *Options) defaults() {
	if o.HelperPath == "" {
		o.HelperPath = DefaultHelperPath
	}
	if o.CPU == 0 {
		o.CPU = DefaultCPU
	}
	if o.MemoryGB == 0 {
		o.MemoryGB = DefaultMemoryGB
	}
	if o.RequestRate == 0 {
		o.RequestRate = DefaultRequestRate
	}
	if o.RequestBurst == 0 {
		o.RequestBurst = DefaultRequestBurst
	}
	if o.PollMin <= 0 {
		o.PollMin = DefaultPollMin
	}
	if o.PollMax < o.PollMin {
		o.PollMax = max(DefaultPollMax, o.PollMin)
	}
	if o.LogPoll <= 0 {
		o.LogPoll = DefaultLogPoll
	}
	if o.PendingTimeout <= 0 {
		o.PendingTimeout = DefaultPendingTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.clock == nil {
		o.clock = realClock{}
	}
}

// isResourceID reports whether id looks like the ARM ID of a resource of
// the provider type kind.
func isResourceID(id, kind string) bool {
	return resourceID.MatchString(id) && strings.Contains(strings.ToLower(id), "/providers/"+strings.ToLower(kind)+"/")
}

var resourceID = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/[^/]+/[^/]+/[^/]+`)

// Name implements [executor.Executor].
func (e *Executor) Name() string { return e.name }

// CheckSpec implements [executor.Checker]: a step that asks for what a
// container group cannot give (a user, a read-only root, capabilities) is
// refused when its pipeline is applied.
func (e *Executor) CheckSpec(spec *executor.Spec) error { return checkSpec(spec) }

// ResourceGroup is where the executor makes its container groups.
func (e *Executor) ResourceGroup() string { return e.opts.ResourceGroup }

// Ping reports whether Azure answers and lets baton list the resource
// group's container groups.
func (e *Executor) Ping(ctx context.Context) error {
	pager := e.groups.NewListByResourceGroupPager(e.opts.ResourceGroup, nil)
	if _, err := pager.NextPage(ctx); err != nil {
		return fmt.Errorf("aci: list container groups in resource group %s: %w", e.opts.ResourceGroup, explain(err))
	}
	return nil
}

// handle returns the handle of the group name.
func (e *Executor) handle(name string) *executor.Handle {
	return &executor.Handle{Executor: e.name, ID: e.opts.ResourceGroup + "/" + name}
}

// parseHandle returns the resource group and group h names.
func parseHandle(h *executor.Handle) (rg, name string, err error) {
	rg, name, ok := strings.Cut(h.ID, "/")
	if !ok || rg == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("aci: handle %q does not name a container group as resource-group/name: %w", h.ID, executor.ErrNotFound)
	}
	return rg, name, nil
}
