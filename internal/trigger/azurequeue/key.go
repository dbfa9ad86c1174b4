package azurequeue

import "github.com/baton-dev/baton/internal/pipeline"

// RunKey is the key of the run a message starts (see
// [store.RunCreateParams.Key]): the queue and the message's id, which
// Azure keeps across redeliveries and makes unique within the queue.
func RunKey(q *pipeline.AzureQueue, messageID string) string {
	return "azure_queue:" + q.AccountURL + "/" + q.Queue + "#" + messageID
}
