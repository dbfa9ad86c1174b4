//go:build !kubernetes

package registry

import (
	"github.com/baton-dev/baton/internal/config"
)

// KubernetesBuiltIn says whether this binary can drive Kubernetes. The
// kubernetes executor brings client-go, which would more than double the
// binary and the idle server's memory, so it is built in only with
// -tags kubernetes.
const KubernetesBuiltIn = false

// kubernetesType refuses kubernetes entries, saying how to get a baton
// that has the executor.
func kubernetesType() Type {
	return remote(Type{decode: func(x *config.Executor) (any, error) {
		return nil, x.Errorf("this baton was built without the kubernetes executor, which would more than double its size; build one that has it with: go build -tags kubernetes ./cmd/baton")
	}})
}
