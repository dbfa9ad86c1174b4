package azurequeue

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/baton-dev/baton/internal/pipeline"
)

// DefaultMaxDequeue is how many times a message that cannot start a run
// is received before it goes to the poison queue, for triggers and
// servers that set no max_dequeue.
const DefaultMaxDequeue = 5

// Config keys of the [Settings], as errors name them.
const (
	KeyMaxDequeue          = "azure_queue_max_dequeue"
	KeyDevConnectionString = "azure_queue_dev_connection_string"
)

// Settings are the server-wide settings of queue triggers, from baton's
// config.
type Settings struct {
	// MaxDequeue is the max_dequeue of triggers that set none; 0 means
	// [DefaultMaxDequeue].
	MaxDequeue int
	// DevConnectionString is a storage emulator's connection string, such
	// as Azurite's: triggers whose account_url is its QueueEndpoint sign
	// in with its shared key instead of an Azure identity. Its endpoint
	// must be on this machine (127.0.0.1, ::1 or localhost): a shared key
	// is for development, never for a real account.
	DevConnectionString string
}

// devAccount is what a dev connection string gives.
type devAccount struct {
	endpoint string // as [pipeline.AzureQueue.AccountURL] has it
	name     string
	key      string // base64, as Azure gives it
}

// validate checks the settings and reads the dev connection string. Its
// errors name the config key and never quote the connection string.
func (s Settings) validate() (*devAccount, error) {
	if s.MaxDequeue < 0 || s.MaxDequeue > pipeline.MaxDequeueLimit {
		return nil, fmt.Errorf("%s: is %d; write a whole number from 1 to %d, or leave it out for %d", KeyMaxDequeue, s.MaxDequeue, pipeline.MaxDequeueLimit, DefaultMaxDequeue)
	}
	if s.DevConnectionString == "" {
		return nil, nil
	}
	dev, err := parseDevConnectionString(s.DevConnectionString)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyDevConnectionString, err)
	}
	return dev, nil
}

// maxDequeue is the max_dequeue of trigger q.
func (s Settings) maxDequeue(q *pipeline.AzureQueue) int {
	switch {
	case q.MaxDequeue > 0:
		return q.MaxDequeue
	case s.MaxDequeue > 0:
		return s.MaxDequeue
	}
	return DefaultMaxDequeue
}

// connectionStringForm is how a dev connection string looks.
const connectionStringForm = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1"

// parseDevConnectionString reads Key=Value;... as Azure writes connection
// strings, for an emulator on this machine only.
func parseDevConnectionString(s string) (*devAccount, error) {
	const form = "write e.g. " + connectionStringForm
	fields := make(map[string]string)
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errors.New("is not a connection string (Key=Value pairs separated by ;); " + form)
		}
		fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	name, key, endpoint := fields["accountname"], fields["accountkey"], fields["queueendpoint"]
	switch {
	case name == "" || key == "":
		return nil, errors.New("has no AccountName or no AccountKey; " + form)
	case endpoint == "":
		return nil, errors.New("has no QueueEndpoint; a shared key is only for a storage emulator on this machine, so name its endpoint; " + form)
	}
	if _, err := base64.StdEncoding.DecodeString(key); err != nil {
		return nil, errors.New("has an AccountKey that is not base64; copy the key as the emulator gives it")
	}
	u, err := url.Parse(endpoint)
	if err != nil || !pipeline.LoopbackHost(strings.ToLower(u.Hostname())) {
		return nil, errors.New("has a QueueEndpoint that is not on this machine; a shared key is only for a storage emulator such as Azurite on 127.0.0.1: for a storage account, leave the connection string out and give baton an Azure identity (see docs/azure.md)")
	}
	normal, err := pipeline.ParseAccountURL(endpoint)
	if err != nil {
		return nil, fmt.Errorf("has a QueueEndpoint that is not an account URL: %w", err)
	}
	return &devAccount{endpoint: normal, name: name, key: key}, nil
}
