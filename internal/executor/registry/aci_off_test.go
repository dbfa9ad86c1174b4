//go:build !azure

package registry_test

import (
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/executor/registry"
)

// TestACINotBuiltIn: a default build refuses an aci entry at its line and
// says how to get a baton that has the executor.
func TestACINotBuiltIn(t *testing.T) {
	t.Parallel()
	if registry.ACIBuiltIn {
		t.Fatal("a build without -tags azure says it has the aci executor")
	}
	c := load(t, "executors:\n  azure: {type: aci, resource_group: steps}\ndefault_executor: azure\ncallback_url: https://x.example\n")
	err := registry.New().Check(c)
	if err == nil || !strings.Contains(err.Error(), ":2:") || !strings.Contains(err.Error(), "go build -tags azure ./cmd/baton") {
		t.Errorf("Check of an aci entry without the executor built in: %v", err)
	}
}
