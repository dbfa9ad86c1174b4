//go:build !azure

package azurequeue

import (
	"errors"

	"github.com/baton-dev/baton/internal/pipeline"
)

// BuiltIn says whether this binary can read Azure Storage queues. The
// Azure SDK would take the default binary past its size budget, so the
// trigger is built in only with -tags azure.
const BuiltIn = false

// missingWhy is the refusal of an azure_queue trigger in this build.
const missingWhy = "this baton was built without the azure_queue trigger, which needs the Azure SDK; build one that has it with: go build -tags azure ./cmd/baton"

// Missing returns the trigger kinds this build cannot run, with why, for
// [pipeline.Options.MissingTriggers].
func Missing() map[string]string {
	return map[string]string{pipeline.TriggerAzureQueue: missingWhy}
}

// azureState is empty: nothing of Azure is kept in this build.
type azureState struct{}

func (m *Manager) openQueue(*pipeline.AzureQueue) (queue, error) {
	return nil, errors.New(missingWhy)
}
