//go:build kubernetes

package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/executor/kubernetes"
	"github.com/baton-dev/baton/internal/executor/registry"
)

// kubeconfig writes a kubeconfig for a cluster nobody serves: building an
// executor reads it and contacts nothing.
func kubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const text = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: from-context}}]
current-context: x
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBuildKubernetes: a kubernetes entry builds a kubernetes executor that
// carries its registry name into its handles.
func TestBuildKubernetes(t *testing.T) {
	t.Parallel()
	c := load(t, `executors:
  cluster: {type: kubernetes, kubeconfig: `+kubeconfig(t)+`, namespace: jobs, helper_image: baton:1, image_pull_secrets: [regcred]}
default_executor: cluster
callback_url: https://baton.internal.example
`)
	r := registry.New()
	if err := r.Check(c); err != nil {
		t.Fatal(err)
	}
	set, err := r.Build(context.Background(), c.Executors, &registry.Env{DataDir: t.TempDir(), Instance: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	k, ok := set.Executors["cluster"].(*kubernetes.Executor)
	if !ok || set.Types["cluster"] != "kubernetes" {
		t.Fatalf("cluster: %#v of type %q, want a kubernetes executor", set.Executors["cluster"], set.Types["cluster"])
	}
	if k.Name() != "cluster" || k.Namespace() != "jobs" {
		t.Errorf("kubernetes executor named %q in namespace %q, want cluster and jobs", k.Name(), k.Namespace())
	}
}

// TestBuildFailureClosesAndNames: an executor that cannot be made is named,
// with its type, and nothing built is kept.
func TestBuildFailureClosesAndNames(t *testing.T) {
	t.Parallel()
	c := load(t, "executors:\n  a: {type: process}\n  cluster: {type: kubernetes, kubeconfig: "+kubeconfig(t)+"}\ndefault_executor: a\ncallback_url: https://x.example\n")
	_, err := registry.New().Build(context.Background(), c.Executors, &registry.Env{DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `executor "cluster" (type kubernetes)`) || !strings.Contains(err.Error(), "helper_image") {
		t.Errorf("Build of a kubernetes executor without a helper image: %v", err)
	}
}
