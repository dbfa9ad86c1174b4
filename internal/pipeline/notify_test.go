package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNotifyParse(t *testing.T) {
	t.Parallel()
	s := mustParse(t, base+`notify:
  - {url: "https://hooks.example/baton", on: [failed, canceled], secret: hook_key}
  - url: http://127.0.0.1:8080/x
    secret: other
`)
	want := []Notify{
		{URL: "https://hooks.example/baton", On: []string{"failed", "canceled"}, Secret: "hook_key"},
		{URL: "http://127.0.0.1:8080/x", On: []string{"succeeded", "failed", "canceled"}, Secret: "other"},
	}
	if len(s.Notify) != len(want) {
		t.Fatalf("got %d notifications, want %d", len(s.Notify), len(want))
	}
	for i, n := range s.Notify {
		if n.URL != want[i].URL || n.Secret != want[i].Secret || !slices.Equal(n.On, want[i].On) {
			t.Fatalf("notify[%d]: got %+v, want %+v", i, n, want[i])
		}
	}
	if !s.Notify[0].Sends("failed") || s.Notify[0].Sends("succeeded") {
		t.Fatal("Sends does not follow on:")
	}
	if s := mustParse(t, base); s.Notify != nil {
		t.Fatalf("a file without notify: got %+v", s.Notify)
	}
}

func TestNotifyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, notify string
		line         int
		want         string
	}{
		{"not a list", "notify: https://x\n", 4, "notify: is the string \"https://x\"; write a list"},
		{"unknown field", "notify:\n  - {url: https://x, secret: k, onn: [failed]}\n", 5, `unknown field "onn"; did you mean "on"?`},
		{"no url", "notify:\n  - {secret: k}\n", 5, "notify[0]: missing url"},
		{"no secret", "notify:\n  - {url: https://x}\n", 5, "notify[0]: missing secret"},
		{"bad secret", "notify:\n  - {url: https://x, secret: 'a b'}\n", 5, "notify[0].secret: \"a b\" is not a valid secret name"},
		{"status typo", "notify:\n  - {url: https://x, secret: k, on: [faild]}\n", 5, `notify[0].on[0]: "faild" is not a run status; did you mean "failed"?`},
		{"status twice", "notify:\n  - {url: https://x, secret: k, on: [failed, failed]}\n", 5, `notify[0].on[1]: "failed" is listed twice`},
		{"on empty", "notify:\n  - {url: https://x, secret: k, on: []}\n", 5, "notify[0].on: is empty"},
		{"http elsewhere", "notify:\n  - {url: 'http://hooks.example/x', secret: k}\n", 5, "is plain http to a host other than this machine; use https"},
		{"userinfo", "notify:\n  - {url: 'https://u:hunter2@hooks.example/x', secret: k}\n", 5, "has user info"},
		{"fragment", "notify:\n  - {url: 'https://hooks.example/x#f', secret: k}\n", 5, "has a fragment"},
		{"scheme", "notify:\n  - {url: 'ftp://hooks.example/x', secret: k}\n", 5, `has scheme "ftp"`},
		{"relative", "notify:\n  - {url: /x, secret: k}\n", 5, "is not an absolute http(s) URL"},
		{"too long", "notify:\n  - {url: 'https://h/" + strings.Repeat("a", 2100) + "', secret: k}\n", 5, "bytes long"},
		{"too many", "notify:\n" + strings.Repeat("  - {url: https://x, secret: k}\n", MaxNotify+1), 5, "at most 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yaml", []byte(base+tc.notify))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *pipeline.Error", err)
			}
			if pe.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (line %d), want line %d with %q", err, pe.Line, tc.line, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error repeats the URL's password: %v", err)
			}
		})
	}
}

func TestCheckNotifyURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://hooks.example/baton?x=1", "http://localhost:9/x", "http://[::1]:80/", "http://127.0.0.2/"} {
		if err := CheckNotifyURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "https://", "mailto:a@b", "http://10.0.0.1/", "http://localhost.example/", "https://a@h/", "https://h/#"} {
		if err := CheckNotifyURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzNotify(f *testing.F) {
	for _, seed := range []string{
		"notify: [{url: 'https://h/x', on: [failed, canceled], secret: k}]\n",
		"notify: [{url: 'http://127.0.0.1:1/', secret: k}, {url: 'http://[::1]/', secret: k.2, on: [succeeded]}]\n",
		"notify: [{url: 'https://u@h/', secret: k}]\n",
		"notify: [{url: 'http://h/', secret: k, on: [failed, failed]}]\n",
		"notify: &a [{url: 'https://h/', secret: k}]\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, notify string) {
		s, err := Parse("fuzz.yaml", []byte(base+notify))
		if err != nil {
			return
		}
		if len(s.Notify) > MaxNotify {
			t.Fatalf("accepted %d notifications", len(s.Notify))
		}
		for _, n := range s.Notify {
			if err := CheckNotifyURL(n.URL); err != nil {
				t.Fatalf("accepted url %q: %v", n.URL, err)
			}
			if secretNameProblem(n.Secret) != "" {
				t.Fatalf("accepted secret name %q", n.Secret)
			}
			if len(n.On) == 0 {
				t.Fatalf("accepted a notification without statuses: %+v", n)
			}
			for i, st := range n.On {
				if !slices.Contains(NotifyStatuses, st) || slices.Contains(n.On[:i], st) {
					t.Fatalf("accepted on: %q", n.On)
				}
			}
		}
	})
}
