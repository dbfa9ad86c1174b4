package pipeline

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTriggers(t *testing.T) {
	t.Parallel()
	s, err := Parse("x.yaml", []byte(base+`triggers:
  - azure_queue: {account_url: "HTTPS://Acct.Queue.Core.Windows.NET/", queue: initjob}
  - azure_queue:
      account_url: http://127.0.0.1:10001/devstoreaccount1
      queue: initjob
      max_dequeue: 3
      visibility_timeout: 2m
      max_poll_interval: 1s
  - azure_queue: {account_url: "http://[::1]:10001/devstoreaccount1", queue: a-b-c}
  - azure_queue: {account_url: "http://localhost:10001", queue: a1b}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []AzureQueue{
		{AccountURL: "https://acct.queue.core.windows.net", Queue: "initjob", VisibilityTimeout: DefaultVisibilityTimeout, MaxPollInterval: DefaultMaxPollInterval},
		{AccountURL: "http://127.0.0.1:10001/devstoreaccount1", Queue: "initjob", MaxDequeue: 3, VisibilityTimeout: 2 * time.Minute, MaxPollInterval: time.Second},
		{AccountURL: "http://[::1]:10001/devstoreaccount1", Queue: "a-b-c", VisibilityTimeout: DefaultVisibilityTimeout, MaxPollInterval: DefaultMaxPollInterval},
		{AccountURL: "http://localhost:10001", Queue: "a1b", VisibilityTimeout: DefaultVisibilityTimeout, MaxPollInterval: DefaultMaxPollInterval},
	}
	if len(s.Triggers) != len(want) {
		t.Fatalf("got %d triggers, want %d: %+v", len(s.Triggers), len(want), s.Triggers)
	}
	for i, tr := range s.Triggers {
		if tr.AzureQueue == nil || *tr.AzureQueue != want[i] {
			t.Errorf("triggers[%d] = %+v, want %+v", i, tr.AzureQueue, want[i])
		}
	}
	if got := s.Triggers[0].AzureQueue.PoisonQueue(); got != "initjob-poison" {
		t.Errorf("PoisonQueue() = %q, want initjob-poison", got)
	}
}

func TestTriggerErrors(t *testing.T) {
	t.Parallel()
	const aq = "triggers:\n  - azure_queue: "
	const acct = "account_url: https://a.queue.core.windows.net"
	tests := []struct{ name, in, want string }{
		{"not a list", "triggers: {azure_queue: {}}\n", "x.yaml:4: triggers: is a mapping; write a list, e.g. [{azure_queue:"},
		{"item string", "triggers: [azure_queue]\n", `x.yaml:4: triggers[0]: is the string "azure_queue"; write a mapping, naming one kind of trigger`},
		{"no kind", "triggers: [{}]\n", "x.yaml:4: triggers[0]: names no kind of trigger; write one kind per item"},
		{"two kinds", "triggers: [{azure_queue: {}, kafka: {}}]\n", `x.yaml:4: triggers[0]: names "azure_queue" and "kafka"; write one kind per item`},
		{"unknown kind", "triggers:\n  - azure_queues: {}\n", `x.yaml:5: triggers[0]: unknown kind of trigger "azure_queues"; did you mean "azure_queue"? Kinds: azure_queue`},
		{"unknown kind far", "triggers: [{kafka: {}}]\n", `x.yaml:4: triggers[0]: unknown kind of trigger "kafka"; kinds: azure_queue`},
		{"not a mapping", aq + "jobs\n", `x.yaml:5: triggers[0].azure_queue: is the string "jobs"; write a mapping, with the fields account_url, max_dequeue`},
		{"unknown field", aq + "{" + acct + ", queue: q12, maxdequeue: 3}\n", `x.yaml:5: triggers[0].azure_queue: unknown field "maxdequeue"; did you mean "max_dequeue"?`},
		{"missing account", aq + "{queue: jobs}\n", "x.yaml:5: triggers[0].azure_queue: missing account_url; add the storage account's queue endpoint"},
		{"missing queue", aq + "{" + acct + "}\n", "x.yaml:5: triggers[0].azure_queue: missing queue; add the queue's name"},
		{"account list", aq + "{account_url: [a], queue: jobs}\n", "x.yaml:5: triggers[0].azure_queue.account_url: is a list; write a string"},
		{"account not url", aq + "{account_url: 'queue.core.windows.net', queue: jobs}\n", `triggers[0].azure_queue.account_url: is not a URL; write the account's queue endpoint`},
		{"account bad escape", aq + "{account_url: 'https://a.queue.core.windows.net/%zz?sig=SECRET', queue: jobs}\n", "account_url: is not a URL"},
		{"account sas", aq + "{account_url: 'https://a.queue.core.windows.net/?sv=2020&sig=SECRET', queue: jobs}\n", "account_url: has a query; a SAS token or any other secret does not belong in a pipeline file"},
		{"account password", aq + "{account_url: 'https://u:SECRET@a.queue.core.windows.net', queue: jobs}\n", "account_url: has a user name or password"},
		{"account http remote", aq + "{account_url: 'http://a.queue.core.windows.net', queue: jobs}\n", `account_url: "http://a.queue.core.windows.net" is plain http; Azure accepts tokens over https only`},
		{"account ftp", aq + "{account_url: 'ftp://a.example', queue: jobs}\n", `account_url: "ftp://a.example" is not an https URL`},
		{"account with queue", aq + "{account_url: 'https://a.queue.core.windows.net/acct/jobs', queue: jobs}\n", "account_url: \"https://a.queue.core.windows.net/acct/jobs\" has a path; write the account's endpoint without the queue"},
		{"account fragment", aq + "{account_url: 'https://a.queue.core.windows.net#x', queue: jobs}\n", "account_url: has a fragment"},
		{"account long", aq + "{account_url: 'https://" + strings.Repeat("a", 300) + "', queue: jobs}\n", "account_url: is 308 characters long; the limit is 256"},
		{"queue upper", aq + "{" + acct + ", queue: Jobs}\n", `x.yaml:5: triggers[0].azure_queue.queue: "Jobs" is not a queue name; write 3 to 56 lowercase letters`},
		{"queue short", aq + "{" + acct + ", queue: ab}\n", `queue: "ab" is 2 characters long; write 3 to 56`},
		{"queue long", aq + "{" + acct + ", queue: " + strings.Repeat("a", 57) + "}\n", "is 57 characters long; write 3 to 56 lowercase letters, digits and single hyphens, starting and ending with a letter or digit (the poison queue adds -poison)"},
		{"queue double hyphen", aq + "{" + acct + ", queue: a--b}\n", `queue: "a--b" is not a queue name`},
		{"queue hyphen end", aq + "{" + acct + ", queue: ab-}\n", `queue: "ab-" is not a queue name`},
		{"queue hyphen start", aq + "{" + acct + ", queue: -ab}\n", `queue: "-ab" is not a queue name`},
		{"max_dequeue zero", aq + "{" + acct + ", queue: jobs, max_dequeue: 0}\n", "triggers[0].azure_queue.max_dequeue: is 0; write a whole number from 1 to 100, or leave max_dequeue out for the server's default"},
		{"max_dequeue text", aq + "{" + acct + ", queue: jobs, max_dequeue: five}\n", `max_dequeue: is the string "five"; write a whole number`},
		{"visibility fraction", aq + "{" + acct + ", queue: jobs, visibility_timeout: 1500ms}\n", "triggers[0].azure_queue.visibility_timeout: is 1.5s; write whole seconds from 1s to 168h0m0s"},
		{"visibility long", aq + "{" + acct + ", queue: jobs, visibility_timeout: 169h}\n", "visibility_timeout: is 169h0m0s; write whole seconds"},
		{"visibility words", aq + "{" + acct + ", queue: jobs, visibility_timeout: soon}\n", `visibility_timeout: "soon" is not a duration`},
		{"poll zero", aq + "{" + acct + ", queue: jobs, max_poll_interval: 0s}\n", "max_poll_interval: is 0s; write whole seconds from 1s to 10m0s"},
		{"same queue twice", "triggers:\n  - azure_queue: {" + acct + ", queue: jobs}\n  - azure_queue: {account_url: 'https://A.queue.core.windows.net/', queue: jobs}\n",
			"x.yaml:6: triggers[1]: reads queue jobs of https://a.queue.core.windows.net, as triggers[0] does; a queue gives each message to one reader, so keep one"},
		{"too many", "triggers:\n" + strings.Repeat("  - azure_queue: {"+acct+", queue: jobs}\n", MaxTriggers+1), "x.yaml:5: triggers: has 21 triggers; the limit is 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("x.yaml", []byte(base+tt.in))
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.in)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("the error echoes the secret: %v", err)
			}
		})
	}
}

func TestTriggerMissingKind(t *testing.T) {
	t.Parallel()
	in := base + "triggers:\n  - azure_queue: {account_url: https://a.queue.core.windows.net, queue: jobs}\n"
	why := "this baton was built without the Azure queue trigger; build one with: go build -tags azure ./cmd/baton"
	_, err := ParseWith("x.yaml", []byte(in), &Options{MissingTriggers: map[string]string{TriggerAzureQueue: why}})
	if err == nil || err.Error() != "x.yaml:5: triggers[0]: "+why {
		t.Fatalf("got %v, want the refusal at line 5", err)
	}
	if _, err := ParseWith("x.yaml", []byte(in), &Options{MissingTriggers: map[string]string{"other": why}}); err != nil {
		t.Fatalf("a kind the server has: %v", err)
	}
}

// FuzzTriggers parses a pipeline whose triggers: is the fuzzed text and
// checks what an accepted trigger must be.
func FuzzTriggers(f *testing.F) {
	for _, seed := range []string{
		"[{azure_queue: {account_url: https://a.queue.core.windows.net, queue: jobs}}]",
		"[{azure_queue: {account_url: 'http://127.0.0.1:10001/devstoreaccount1', queue: a-b, max_dequeue: 2, visibility_timeout: 3s, max_poll_interval: 1s}}]",
		"[{azure_queue: {account_url: 'http://[::1]:1/x/', queue: abc}}, {azure_queue: {account_url: 'https://B/', queue: abc}}]",
		"[{azure_queue: {account_url: 'https://a?sig=x', queue: abc}}]",
		"[{azure_queue: &a {account_url: 'https://a', queue: abc}}, {azure_queue: *a}]",
		"[{kafka: {}}]",
		"{}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, triggers string) {
		s, err := Parse("fuzz.yaml", []byte(base+"triggers: "+triggers+"\n"))
		if err != nil {
			return
		}
		seen := make(map[string]bool)
		for i, tr := range s.Triggers {
			q := tr.AzureQueue
			if q == nil {
				t.Fatalf("triggers[%d] has no kind", i)
			}
			u, err := url.Parse(q.AccountURL)
			if err != nil || u.RawQuery != "" || u.User != nil || u.Fragment != "" ||
				!(u.Scheme == "https" || u.Scheme == "http" && LoopbackHost(u.Hostname())) {
				t.Fatalf("triggers[%d]: accepted account_url %q", i, q.AccountURL)
			}
			if queueNameProblem(q.Queue) != "" || len(q.PoisonQueue()) > 63 {
				t.Fatalf("triggers[%d]: accepted queue %q", i, q.Queue)
			}
			if q.MaxDequeue < 0 || q.MaxDequeue > MaxDequeueLimit ||
				q.VisibilityTimeout < time.Second || q.VisibilityTimeout%time.Second != 0 ||
				q.MaxPollInterval < time.Second || q.MaxPollInterval%time.Second != 0 {
				t.Fatalf("triggers[%d]: accepted %+v", i, q)
			}
			if seen[q.AccountURL+"/"+q.Queue] {
				t.Fatalf("triggers[%d]: the same queue twice: %+v", i, s.Triggers)
			}
			seen[q.AccountURL+"/"+q.Queue] = true
		}
	})
}
