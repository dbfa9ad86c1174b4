//go:build !azure

package registry

import (
	"github.com/baton-dev/baton/internal/config"
)

// ACIBuiltIn says whether this binary can drive Azure Container
// Instances. The aci executor brings the Azure SDK, which would take the
// binary past its size budget, so it is built in only with -tags azure.
const ACIBuiltIn = false

// aciType refuses aci entries, saying how to get a baton that has the
// executor.
func aciType() Type {
	return remote(Type{decode: func(x *config.Executor) (any, error) {
		return nil, x.Errorf("this baton was built without the aci executor (Azure Container Instances), which would take it past its size budget; build one that has it with: go build -tags azure ./cmd/baton")
	}})
}
