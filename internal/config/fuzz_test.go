package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseFile feeds the file reader arbitrary bytes: it never panics,
// every problem is a positioned [*Error] naming the file, and what it
// accepts gives executors that are well formed.
func FuzzParseFile(f *testing.F) {
	for _, seed := range []string{
		"",
		"listen: :8080\n",
		"executors:\n  local: {type: docker}\n  cluster: {type: kubernetes, namespace: jobs, pending_timeout: 5m}\ndefault_executor: local\n",
		"allow_image: [a/*, b/*]\nallow_cap: NET_RAW\nlog_cap: 1Mi\nretention: 30d\n",
		"dev: true\n---\ndev: false\n",
		"a: &x [1]\nb: *x\n",
		"<<: {listen: x}\n",
		"executors: {a: {type: [x]}, b: c, 'Bad Name': {type: docker}}\n",
		"? [k]\n: v\n",
		"listen: [\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := defaults(func(string) string { return "" })
		errs := parseFile(c, "fuzz.yaml", data)
		for _, e := range errs {
			if !strings.HasPrefix(e.Where, "fuzz.yaml") || e.Msg == "" {
				t.Fatalf("problem %q is not positioned in the file", e.Error())
			}
		}
		if len(errs) > 0 {
			var ce *Error
			if err := errorList(errs).err(); !errors.As(err, &ce) {
				t.Fatalf("joined problems %v hold no *Error", err)
			}
			return
		}
		for name, x := range c.Executors {
			if x == nil || x.Name != name || x.Type == "" {
				t.Fatalf("executor %q read as %+v", name, x)
			}
			var fields struct {
				Host string `yaml:"host"`
			}
			_ = x.Decode(&fields) // must not panic
		}
		c.finish()
		_ = c.Validate()
	})
}
