package azurequeue

import (
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/pipeline"
)

// devKey is a made-up key: only its form matters here.
const devKey = "c2VjcmV0LWtleS1TM0NSRVQ="

func TestSettingsDevConnectionString(t *testing.T) {
	t.Parallel()
	s := Settings{DevConnectionString: "DefaultEndpointsProtocol=http; AccountName=devstoreaccount1;AccountKey=" + devKey +
		";QueueEndpoint=HTTP://127.0.0.1:10001/devstoreaccount1/;"}
	dev, err := s.validate()
	if err != nil {
		t.Fatal(err)
	}
	if dev.endpoint != "http://127.0.0.1:10001/devstoreaccount1" || dev.name != "devstoreaccount1" || dev.key != devKey {
		t.Fatalf("got %+v", dev)
	}
	if dev, err := (Settings{}).validate(); dev != nil || err != nil {
		t.Fatalf("no connection string: got %+v, %v", dev, err)
	}
}

func TestSettingsRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    Settings
		want string
	}{
		{"max_dequeue negative", Settings{MaxDequeue: -1}, "azure_queue_max_dequeue: is -1; write a whole number from 1 to 100, or leave it out for 5"},
		{"max_dequeue high", Settings{MaxDequeue: 101}, "azure_queue_max_dequeue: is 101"},
		{"not pairs", Settings{DevConnectionString: "S3CRET"}, "azure_queue_dev_connection_string: is not a connection string (Key=Value pairs separated by ;)"},
		{"no key", Settings{DevConnectionString: "AccountName=a;QueueEndpoint=http://127.0.0.1:1/a"}, "has no AccountName or no AccountKey"},
		{"no endpoint", Settings{DevConnectionString: "AccountName=a;AccountKey=" + devKey}, "has no QueueEndpoint; a shared key is only for a storage emulator on this machine"},
		{"real account", Settings{DevConnectionString: "AccountName=a;AccountKey=" + devKey + ";QueueEndpoint=https://a.queue.core.windows.net"},
			"has a QueueEndpoint that is not on this machine; a shared key is only for a storage emulator such as Azurite on 127.0.0.1"},
		{"private address", Settings{DevConnectionString: "AccountName=a;AccountKey=" + devKey + ";QueueEndpoint=http://10.1.2.3:10001/a"}, "not on this machine"},
		{"key not base64", Settings{DevConnectionString: "AccountName=a;AccountKey=S3CRET!!;QueueEndpoint=http://127.0.0.1:1/a"}, "has an AccountKey that is not base64"},
		{"endpoint with query", Settings{DevConnectionString: "AccountName=a;AccountKey=" + devKey + ";QueueEndpoint=http://127.0.0.1:1/a?sig=S3CRET"}, "has a QueueEndpoint that is not an account URL: has a query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.s.validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "S3CRET") || strings.Contains(err.Error(), devKey) {
				t.Fatalf("the error shows the connection string: %v", err)
			}
		})
	}
}

func TestMaxDequeue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ server, trigger, want int }{{0, 0, DefaultMaxDequeue}, {3, 0, 3}, {3, 7, 7}, {0, 1, 1}} {
		if got := (Settings{MaxDequeue: tt.server}).maxDequeue(&pipeline.AzureQueue{MaxDequeue: tt.trigger}); got != tt.want {
			t.Errorf("server %d, trigger %d: got %d, want %d", tt.server, tt.trigger, got, tt.want)
		}
	}
}

// FuzzDevConnectionString checks that an accepted connection string names
// an emulator on this machine, and that no error shows the string.
func FuzzDevConnectionString(f *testing.F) {
	for _, seed := range []string{
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + devKey + ";QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1",
		"AccountName=a;AccountKey=" + devKey + ";QueueEndpoint=http://[::1]:1",
		"AccountName=a;AccountKey=" + devKey + ";QueueEndpoint=https://a.queue.core.windows.net",
		"AccountName=a;AccountKey=S3CRET;QueueEndpoint=http://localhost:1/a?x=S3CRET",
		";;=;", "UseDevelopmentStorage=true",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dev, err := parseDevConnectionString(s)
		if err != nil {
			if len(s) >= 8 && strings.Contains(err.Error(), s) && !strings.Contains(connectionStringForm, s) {
				t.Fatalf("the error shows the connection string: %v", err)
			}
			return
		}
		u, err := pipeline.ParseAccountURL(dev.endpoint)
		if err != nil || u != dev.endpoint || dev.name == "" || dev.key == "" {
			t.Fatalf("accepted %+v (%v)", dev, err)
		}
		host := strings.TrimPrefix(strings.TrimPrefix(dev.endpoint, "http://"), "https://")
		host, _, _ = strings.Cut(host, "/")
		if i := strings.LastIndex(host, ":"); i > 0 && !strings.HasSuffix(host, "]") {
			host = host[:i]
		}
		if !pipeline.LoopbackHost(host) {
			t.Fatalf("accepted endpoint %q, not on this machine", dev.endpoint)
		}
	})
}
