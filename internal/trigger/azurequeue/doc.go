// Package azurequeue starts pipeline runs from Azure Storage queue
// messages: the azure_queue triggers of every pipeline's latest revision
// (see [pipeline.AzureQueue]). Each message, a JSON object of params,
// starts one run; it is deleted only once its run is stored, and the run
// carries the message's id as its key, so a message delivered twice (a
// crash between the two, a visibility timeout that ran out) starts one run.
// A message that cannot start a run goes, once received
// [pipeline.AzureQueue.MaxDequeue] times, to the queue's poison queue with
// the reason.
//
// The Azure SDK is built in only with -tags azure (see [BuiltIn]); in
// other builds [Missing] names the trigger for [pipeline.Options] to
// refuse, and [Manager] runs nothing.
package azurequeue
