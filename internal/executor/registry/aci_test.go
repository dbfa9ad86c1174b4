//go:build azure

package registry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/executor/aci"
	"github.com/baton-dev/baton/internal/executor/registry"
)

const aciEntry = `executors:
  azure:
    type: aci
    subscription: 00000000-0000-0000-0000-000000000000
    resource_group: baton-steps
    location: northeurope
    identity: /subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/baton-steps
    registry_identity: /subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/acr-pull
    subnet: /subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/steps
    helper_image: bats.azurecr.io/baton:1
    cpu: 0.5
    memory_gb: 1
    request_rate: 2
    request_burst: 4
    credential: managed-identity
%s
default_executor: azure
callback_url: https://baton.internal.example
`

// TestBuildACI: an aci entry builds an aci executor that carries its
// registry name into its handles; nothing is contacted.
func TestBuildACI(t *testing.T) {
	t.Setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:1/never")
	t.Setenv("IDENTITY_HEADER", "x")
	c := load(t, strings.Replace(aciEntry, "%s\n", "", 1))
	r := registry.New()
	if err := r.Check(c); err != nil {
		t.Fatal(err)
	}
	set, err := r.Build(context.Background(), c.Executors, &registry.Env{DataDir: t.TempDir(), Instance: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	x, ok := set.Executors["azure"].(*aci.Executor)
	if !ok || set.Types["azure"] != "aci" {
		t.Fatalf("azure: %#v of type %q, want an aci executor", set.Executors["azure"], set.Types["azure"])
	}
	if x.Name() != "azure" || x.ResourceGroup() != "baton-steps" {
		t.Errorf("aci executor named %q on resource group %q, want azure and baton-steps", x.Name(), x.ResourceGroup())
	}
}

// TestACIRefusesKeys: no field of an aci entry takes a key or a password.
func TestACIRefusesKeys(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"client_secret: s3cret", "password: hunter2", "key: abc"} {
		c := load(t, strings.Replace(aciEntry, "%s", "    "+field, 1))
		if err := registry.New().Check(c); err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("Check of an aci entry with %s: %v; want it refused", field, err)
		}
	}
}

// TestACIBadEntries: an entry that cannot work is refused when built,
// naming the field.
func TestACIBadEntries(t *testing.T) {
	t.Parallel()
	for change, want := range map[string]string{
		"    credential: client-secret": `credential "client-secret"`,
		"    helper_image: \"\"":        "helper_image",
	} {
		entry := aciEntry
		if strings.Contains(change, "credential") {
			entry = strings.Replace(entry, "    credential: managed-identity\n", "", 1)
		} else {
			entry = strings.Replace(entry, "    helper_image: bats.azurecr.io/baton:1\n", "", 1)
		}
		c := load(t, strings.Replace(entry, "%s", change, 1))
		_, err := registry.New().Build(context.Background(), c.Executors, &registry.Env{DataDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), `executor "azure" (type aci)`) || !strings.Contains(err.Error(), want) {
			t.Errorf("Build with %q: %v; want an error naming %s", change, err, want)
		}
	}
}
