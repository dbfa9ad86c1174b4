package pipeline

import (
	"strings"
	"testing"
)

func TestParseExecutors(t *testing.T) {
	t.Parallel()
	in := "name: x\nexecutor: swarm\nsteps:\n  - {name: a, command: [a]}\n  - {name: b, command: [b], executor: cluster}\n"
	s, err := ParseWith("x.yaml", []byte(in), &Options{Executors: []string{"local", "swarm", "cluster"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Executor != "swarm" || s.Steps[0].Executor != "" || s.Steps[1].Executor != "cluster" {
		t.Errorf("executors: pipeline %q, steps %q and %q; want swarm, empty and cluster", s.Executor, s.Steps[0].Executor, s.Steps[1].Executor)
	}
	// Without the server's set, names are checked for their form only.
	if _, err := Parse("x.yaml", []byte(in)); err != nil {
		t.Errorf("Parse without the server's executors: %v", err)
	}
}

func TestParseExecutorErrors(t *testing.T) {
	t.Parallel()
	have := &Options{Executors: []string{"local", "swarm"}}
	tests := []struct {
		name, in, want string
	}{
		{"unknown pipeline executor", "executor: cluster\n" + base,
			`x.yaml:1: executor: "cluster" is not an executor of this server; it has local and swarm; leave executor out for the server's default`},
		{"unknown step executor, a typo", base + "  - {name: b, command: [b], executor: swram}\n",
			`x.yaml:4: steps[1].executor: "swram" is not an executor of this server; it has local and swarm; did you mean swarm?`},
		{"bad form", "executor: Local Docker\n" + base, `x.yaml:1: executor: "Local Docker" is not a valid name`},
		{"empty", "executor: ''\n" + base, `x.yaml:1: executor: "" is empty`},
		{"not a string", base + "  - {name: b, command: [b], executor: [a]}\n", `x.yaml:4: steps[1].executor: is a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseWith("x.yaml", []byte(tt.in), have)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
}
