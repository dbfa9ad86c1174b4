package pipeline

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxNotify bounds a pipeline's notify: list.
const MaxNotify = 10

// maxNotifyURL bounds a notification's URL, in bytes.
const maxNotifyURL = 2048

var (
	notifyFields = []string{"url", "on", "secret"}
	// NotifyStatuses are the run statuses a notification can be sent on:
	// every status a run ends with.
	NotifyStatuses = []string{"succeeded", "failed", "canceled"}
)

// Notify is one notification of a pipeline: a signed POST of the run's
// summary to URL when the run ends with one of On.
type Notify struct {
	URL string
	// On are run statuses from [NotifyStatuses], each once; after Parse it
	// is never empty: left out, it is all of them.
	On []string
	// Secret names the baton secret whose value signs the body.
	Secret string
}

// Sends reports whether the notification is sent for a run ending as status.
func (n Notify) Sends(status string) bool { return slices.Contains(n.On, status) }

func (p *parser) notify(n *yaml.Node) []Notify {
	const example = `[{url: "https://hooks.example/baton", on: [failed], secret: hook_key}]`
	if n = p.resolve(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "notify", "is %s; write a list, e.g. %s", DescribeNode(n), example)
		return nil
	}
	if len(n.Content) > MaxNotify {
		p.errorf(n, "notify", "has %d notifications; at most %d are allowed", len(n.Content), MaxNotify)
		return nil
	}
	out := make([]Notify, 0, len(n.Content))
	for i, item := range n.Content {
		field := fmt.Sprintf("notify[%d]", i)
		f, ok := p.fields(item, field, notifyFields)
		if !ok {
			continue
		}
		var nt Notify
		if u, ok := f["url"]; !ok {
			p.errorf(item, field, `missing url; add e.g. url: "https://hooks.example/baton"`)
		} else if raw, ok := p.str(u, field+".url"); ok {
			if err := CheckNotifyURL(raw); err != nil {
				p.errorf(u, field+".url", "%v", err)
			}
			nt.URL = raw
		}
		if s, ok := f["secret"]; !ok {
			p.errorf(item, field, "missing secret; add e.g. secret: hook_key, naming a baton secret (baton secrets set hook_key) whose value signs the body")
		} else if name, ok := p.str(s, field+".secret"); ok {
			if problem := secretNameProblem(name); problem != "" {
				p.errorf(s, field+".secret", "%.64q %s", name, problem)
			}
			nt.Secret = name
		}
		if on, ok := f["on"]; ok {
			nt.On = p.notifyOn(on, field+".on")
		}
		if len(nt.On) == 0 {
			nt.On = slices.Clone(NotifyStatuses)
		}
		out = append(out, nt)
	}
	return out
}

// notifyOn reads the statuses of on:, each once.
func (p *parser) notifyOn(n *yaml.Node, field string) []string {
	words, ok := p.strings(n, field, "[failed, canceled]")
	if !ok {
		return nil
	}
	if len(words) == 0 {
		p.errorf(p.resolve(n), field, "is empty; list run statuses from %s, or leave on out for all of them", list(NotifyStatuses))
		return nil
	}
	var out []string
	items := p.resolve(n).Content
	for i, w := range words {
		at := fmt.Sprintf("%s[%d]", field, i)
		word := p.policy(items[i], at, "a run status", NotifyStatuses)
		if !slices.Contains(NotifyStatuses, word) {
			continue
		}
		if slices.Contains(out, w) {
			p.errorf(p.resolve(items[i]), at, "%q is listed twice; keep one", w)
			continue
		}
		out = append(out, w)
	}
	return out
}

// CheckNotifyURL refuses a URL baton does not post notifications to: one
// that is not absolute, has user info or a fragment, is plain http to a
// host other than this machine's loopback, or is longer than 2048 bytes.
// Its errors do not repeat the URL, which may hold a token in its path.
func CheckNotifyURL(raw string) error {
	const hint = `write e.g. "https://hooks.example/baton"`
	if len(raw) > maxNotifyURL {
		return fmt.Errorf("is %d bytes long; at most %d are allowed", len(raw), maxNotifyURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("is not an absolute http(s) URL; %s", hint)
	}
	if u.User != nil {
		return fmt.Errorf("has user info (user:password@); put credentials in the receiver's URL path or check the signature instead")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return fmt.Errorf("has a fragment (#...), which is never sent; remove it")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("is plain http to a host other than this machine; use https (http is allowed only to localhost, 127.0.0.1 or ::1)")
	}
	return fmt.Errorf("has scheme %.16q; %s", u.Scheme, hint)
}

// loopbackHost reports whether host names this machine's loopback: the
// name localhost or a loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
