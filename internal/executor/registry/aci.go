//go:build azure

package registry

import (
	"context"
	"time"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/aci"
)

// aciFields are an aci entry's own fields; see [aci.Options]. None is a
// key or a password: baton authenticates through azidentity.
type aciFields struct {
	Subscription     string          `yaml:"subscription"`
	ResourceGroup    string          `yaml:"resource_group"`
	Location         string          `yaml:"location"`
	Identity         string          `yaml:"identity"`
	RegistryIdentity string          `yaml:"registry_identity"`
	Subnet           string          `yaml:"subnet"`
	HelperImage      string          `yaml:"helper_image"`
	HelperPath       string          `yaml:"helper_path"`
	CPU              float64         `yaml:"cpu"`
	MemoryGB         float64         `yaml:"memory_gb"`
	RequestRate      float64         `yaml:"request_rate"`
	RequestBurst     int             `yaml:"request_burst"`
	PollMax          config.Duration `yaml:"poll_max"`
	PendingTimeout   config.Duration `yaml:"pending_timeout"`
	Credential       string          `yaml:"credential"`
	ClientID         string          `yaml:"client_id"`
}

// ACIBuiltIn says whether this binary can drive Azure Container
// Instances; see aci_off.go.
const ACIBuiltIn = true

// aciType builds aci executors: this binary was built with -tags azure,
// and carries the Azure SDK.
func aciType() Type { return remote(typeOf(newACI)) }

// newACI makes the executor under its registry name, which its handles
// then carry. Nothing is contacted, not even for a token.
func newACI(_ context.Context, env *Env, name string, f *aciFields) (executor.Executor, error) {
	return aci.New(aci.Options{
		Name: name, Subscription: f.Subscription, ResourceGroup: f.ResourceGroup, Location: f.Location,
		Identity: f.Identity, RegistryIdentity: f.RegistryIdentity, Subnet: f.Subnet,
		HelperImage: f.HelperImage, HelperPath: f.HelperPath, CPU: f.CPU, MemoryGB: f.MemoryGB,
		RequestRate: f.RequestRate, RequestBurst: f.RequestBurst,
		PollMax: time.Duration(f.PollMax), PendingTimeout: time.Duration(f.PendingTimeout),
		CredentialKind: f.Credential, ClientID: f.ClientID,
		Instance: env.Instance, DefaultLimits: env.DefaultLimits, Logger: env.Logger.With("executor", name),
	})
}
