package pipeline

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/baton-dev/baton/internal/suggest"
)

// TriggerAzureQueue is the kind of trigger that starts a run for each
// message of an Azure Storage queue.
const TriggerAzureQueue = "azure_queue"

// triggerKinds are the kinds of trigger a triggers: item may name.
var triggerKinds = []string{TriggerAzureQueue}

var azureQueueFields = []string{"account_url", "queue", "max_dequeue", "visibility_timeout", "max_poll_interval"}

// Bounds and defaults of an azure_queue trigger.
const (
	// MaxTriggers is the most triggers one pipeline may have.
	MaxTriggers = 20
	// MaxDequeueLimit bounds max_dequeue.
	MaxDequeueLimit = 100
	// DefaultVisibilityTimeout is how long a received message stays
	// hidden from other consumers while baton starts its run.
	DefaultVisibilityTimeout = 30 * time.Second
	// DefaultMaxPollInterval is the longest wait between two looks at an
	// empty queue.
	DefaultMaxPollInterval = 10 * time.Second
	// maxQueueName leaves room for the -poison suffix within Azure's 63.
	maxQueueName  = 63 - len(PoisonSuffix)
	maxAccountURL = 256
)

// PoisonSuffix is appended to a queue's name to name the queue that
// messages which cannot start a run are moved to.
const PoisonSuffix = "-poison"

// Trigger is one source of runs besides the API and schedules. Exactly one
// kind is set; after Parse that is AzureQueue, the only kind so far.
type Trigger struct {
	AzureQueue *AzureQueue
}

// AzureQueue is an azure_queue trigger: every message of the queue, a JSON
// object of params, starts one run of the pipeline's latest revision.
type AzureQueue struct {
	// AccountURL is the storage account's queue endpoint, without a
	// trailing slash, lower case scheme and host: https://NAME.queue.core.windows.net,
	// or an emulator's http://127.0.0.1:10001/devstoreaccount1.
	AccountURL string
	// Queue is the queue's name; messages that cannot start a run go to
	// Queue + [PoisonSuffix].
	Queue string
	// MaxDequeue is how many times a message that cannot start a run is
	// received before it is moved to the poison queue; 0 means the
	// server's default.
	MaxDequeue int
	// VisibilityTimeout is how long a received message is hidden from
	// other receivers, whole seconds; never 0 after Parse.
	VisibilityTimeout time.Duration
	// MaxPollInterval is the longest wait between two receives from an
	// empty queue; never 0 after Parse.
	MaxPollInterval time.Duration
}

// PoisonQueue is the name of the queue refused messages go to.
func (q *AzureQueue) PoisonQueue() string { return q.Queue + PoisonSuffix }

func (p *parser) triggers(n *yaml.Node) []Trigger {
	const example = "[{azure_queue: {account_url: https://NAME.queue.core.windows.net, queue: jobs}}]"
	if n = p.resolve(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "triggers", "is %s; write a list, e.g. %s", DescribeNode(n), example)
		return nil
	}
	if len(n.Content) > MaxTriggers {
		p.errorf(n, "triggers", "has %d triggers; the limit is %d", len(n.Content), MaxTriggers)
		return nil
	}
	out := make([]Trigger, 0, len(n.Content))
	queues := make(map[string]int, len(n.Content)) // account/queue → index
	for i, item := range n.Content {
		field := fmt.Sprintf("triggers[%d]", i)
		entries, ok := p.pairs(item, field, "naming one kind of trigger, e.g. "+example[1:len(example)-1])
		if !ok {
			continue
		}
		if len(entries) != 1 {
			kinds := make([]string, len(entries))
			for j, e := range entries {
				kinds[j] = fmt.Sprintf("%.64q", e.key)
			}
			what := "names no kind of trigger"
			if len(entries) > 1 {
				what = "names " + strings.Join(kinds, " and ")
			}
			p.errorf(p.resolve(item), field, "%s; write one kind per item, e.g. %s", what, example[1:len(example)-1])
			continue
		}
		e := entries[0]
		if problem := p.triggerKind(e.key); problem != "" {
			p.errorf(&yaml.Node{Line: e.line}, field, "%s", problem)
			continue
		}
		q := p.azureQueue(e.value, field+"."+e.key)
		if q == nil {
			continue
		}
		source := q.AccountURL + "/" + q.Queue
		if first, dup := queues[source]; dup {
			p.errorf(&yaml.Node{Line: e.line}, field, "reads queue %s of %s, as triggers[%d] does; a queue gives each message to one reader, so keep one", q.Queue, q.AccountURL, first)
			continue
		}
		queues[source] = i
		out = append(out, Trigger{AzureQueue: q})
	}
	return out
}

// triggerKind says what is wrong with a trigger's kind, or "".
func (p *parser) triggerKind(kind string) string {
	known := false
	for _, k := range triggerKinds {
		known = known || k == kind
	}
	if !known {
		if s := suggest.Closest(kind, triggerKinds); s != "" {
			return fmt.Sprintf("unknown kind of trigger %.64q; did you mean %q? Kinds: %s", kind, s, list(triggerKinds))
		}
		return fmt.Sprintf("unknown kind of trigger %.64q; kinds: %s", kind, list(triggerKinds))
	}
	if why, missing := p.missingTriggers[kind]; missing {
		return why
	}
	return ""
}

func (p *parser) azureQueue(n *yaml.Node, field string) *AzureQueue {
	f, ok := p.fields(n, field, azureQueueFields)
	if !ok {
		return nil
	}
	at := p.resolve(n)
	q := &AzureQueue{VisibilityTimeout: DefaultVisibilityTimeout, MaxPollInterval: DefaultMaxPollInterval}
	if v, ok := f["account_url"]; !ok {
		p.errorf(at, field, "missing account_url; add the storage account's queue endpoint, e.g. account_url: https://NAME.queue.core.windows.net")
	} else if s, ok := p.str(v, field+".account_url"); ok {
		u, err := ParseAccountURL(s)
		if err != nil {
			p.errorf(v, field+".account_url", "%v", err)
		}
		q.AccountURL = u
	}
	if v, ok := f["queue"]; !ok {
		p.errorf(at, field, "missing queue; add the queue's name, e.g. queue: jobs")
	} else if s, ok := p.str(v, field+".queue"); ok {
		if problem := queueNameProblem(s); problem != "" {
			p.errorf(v, field+".queue", "%.64q %s", s, problem)
		}
		q.Queue = s
	}
	if v, ok := f["max_dequeue"]; ok {
		q.MaxDequeue, _ = p.integerOr(v, field+".max_dequeue", 1, MaxDequeueLimit, "leave max_dequeue out for the server's default")
	}
	if v, ok := f["visibility_timeout"]; ok {
		q.VisibilityTimeout = p.seconds(v, field+".visibility_timeout", time.Second, 7*24*time.Hour)
	}
	if v, ok := f["max_poll_interval"]; ok {
		q.MaxPollInterval = p.seconds(v, field+".max_poll_interval", time.Second, 10*time.Minute)
	}
	if q.AccountURL == "" || q.Queue == "" {
		return nil // reported above
	}
	return q
}

// seconds reads a duration of whole seconds from lo to hi.
func (p *parser) seconds(n *yaml.Node, field string, lo, hi time.Duration) time.Duration {
	d, ok := p.duration(n, field)
	if !ok {
		return 0
	}
	if d < lo || d > hi || d%time.Second != 0 {
		p.errorf(n, field, "is %s; write whole seconds from %s to %s", d, lo, hi)
	}
	return d
}

// ParseAccountURL returns a storage account's queue endpoint in the form
// [AzureQueue.AccountURL] has: https, or http to this machine (a storage
// emulator); no query, user or fragment, which could only carry secrets
// or mistakes; at most one path segment, the account of an emulator. The
// error says what is wrong, quoting s only when it cannot hold a secret.
func ParseAccountURL(s string) (string, error) {
	u, problem := accountURL(s)
	if problem != "" {
		return "", errors.New(problem)
	}
	return u, nil
}

func accountURL(s string) (string, string) {
	const want = "write the account's queue endpoint, e.g. https://NAME.queue.core.windows.net"
	if len(s) > maxAccountURL {
		return "", fmt.Sprintf("is %d characters long; the limit is %d", len(s), maxAccountURL)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		// Not quoted: a URL that does not parse may still hold a secret.
		return "", "is not a URL; " + want
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	switch {
	case u.RawQuery != "" || u.ForceQuery:
		return "", "has a query; a SAS token or any other secret does not belong in a pipeline file: baton signs in to Azure with its own identity (see docs/azure.md)"
	case u.User != nil:
		return "", "has a user name or password; baton signs in to Azure with its own identity (see docs/azure.md)"
	case u.Fragment != "":
		return "", fmt.Sprintf("has a fragment (#...); %s", want)
	case scheme == "http" && !LoopbackHost(host):
		return "", fmt.Sprintf("%.64q is plain http; Azure accepts tokens over https only, so write https:// (http is for a storage emulator on this machine, such as Azurite on 127.0.0.1)", s)
	case scheme != "https" && scheme != "http":
		return "", fmt.Sprintf("%.64q is not an https URL; %s", s, want)
	}
	path := strings.TrimSuffix(u.Path, "/")
	if strings.Count(path, "/") > 1 {
		return "", fmt.Sprintf("%.64q has a path; write the account's endpoint without the queue, and the queue's name in queue:", s)
	}
	return scheme + "://" + strings.ToLower(u.Host) + path, ""
}

// LoopbackHost reports whether host, a name or an address without a port,
// is this machine: localhost or a loopback address.
func LoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// queueNameProblem says what is wrong with an Azure queue name, or "".
func queueNameProblem(name string) string {
	const rule = "write 3 to %d lowercase letters, digits and single hyphens, starting and ending with a letter or digit"
	if len(name) < 3 || len(name) > maxQueueName {
		return fmt.Sprintf("is %d characters long; "+rule+" (the poison queue adds %s)", len(name), maxQueueName, PoisonSuffix)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-'
		if !ok {
			return fmt.Sprintf("is not a queue name; "+rule, maxQueueName)
		}
	}
	return ""
}
