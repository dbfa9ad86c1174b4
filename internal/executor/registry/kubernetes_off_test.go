//go:build !kubernetes

package registry_test

import (
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/executor/registry"
)

// TestKubernetesNotBuiltIn: a default build refuses a kubernetes entry at
// its line and says how to get a baton that has the executor.
func TestKubernetesNotBuiltIn(t *testing.T) {
	t.Parallel()
	if registry.KubernetesBuiltIn {
		t.Fatal("a build without -tags kubernetes says it has the kubernetes executor")
	}
	c := load(t, "executors:\n  cluster: {type: kubernetes, namespace: jobs}\ndefault_executor: cluster\ncallback_url: https://x.example\n")
	err := registry.New().Check(c)
	if err == nil || !strings.Contains(err.Error(), ":2:") || !strings.Contains(err.Error(), "go build -tags kubernetes ./cmd/baton") {
		t.Errorf("Check of a kubernetes entry without the executor built in: %v", err)
	}
}
