package pipeline

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseStepIsolation(t *testing.T) {
	t.Parallel()
	in := `name: x
env_prefix: ___
steps:
  - name: a
    command: [a]
    env: {PATH: /opt/bin, HOME: /work}
    secrets:
      - {name: db_password}
      - {name: api_key, env: API_KEY}
      - name: tls.cert-2
    resources: {memory: 512Mi, pids: 256, cpus: 1.5}
    user: "1000:1000"
    read_only: true
    cap_add: [NET_BIND_SERVICE, CAP_NET_RAW]
  - name: b
    command: [b]
    user: nobody
    read_only: false
    secrets: []
    cap_add: []
    resources: {memory: 1G, cpus: 0.25}
  - name: c
    command: [c]
    user: 0
    resources: {memory: 64M, cpus: 1024}
`
	s, err := Parse("x.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	a := s.Steps[0]
	if want := []SecretRef{{Name: "db_password"}, {Name: "api_key", Env: "API_KEY"}, {Name: "tls.cert-2"}}; !reflect.DeepEqual(a.Secrets, want) {
		t.Errorf("secrets = %+v, want %+v", a.Secrets, want)
	}
	if want := (Resources{MemoryBytes: 512 << 20, PIDs: 256, NanoCPUs: 1_500_000_000}); a.Resources != want {
		t.Errorf("resources = %+v, want %+v", a.Resources, want)
	}
	if a.User != "1000:1000" || !a.ReadOnly || !reflect.DeepEqual(a.CapAdd, []string{"NET_BIND_SERVICE", "NET_RAW"}) {
		t.Errorf("user %q, read_only %t, cap_add %q; want 1000:1000, true, [NET_BIND_SERVICE NET_RAW]", a.User, a.ReadOnly, a.CapAdd)
	}
	if a.Env["PATH"] != "/opt/bin" || a.Env["HOME"] != "/work" {
		t.Errorf("env = %v, want PATH and HOME kept", a.Env)
	}
	b := s.Steps[1]
	if b.User != "nobody" || b.ReadOnly || len(b.Secrets) != 0 || len(b.CapAdd) != 0 {
		t.Errorf("step b = %+v, want user nobody and nothing else", b)
	}
	if want := (Resources{MemoryBytes: 1e9, NanoCPUs: 250_000_000}); b.Resources != want {
		t.Errorf("step b resources = %+v, want %+v", b.Resources, want)
	}
	c := s.Steps[2]
	if want := (Resources{MemoryBytes: 64e6, NanoCPUs: 1024e9}); c.User != "0" || c.Resources != want {
		t.Errorf("step c user %q, resources %+v; want 0 and %+v", c.User, c.Resources, want)
	}
	d, err := Parse("x.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if st := d.Steps[0]; st.Secrets != nil || st.Resources != (Resources{}) || st.User != "" || st.ReadOnly || st.CapAdd != nil {
		t.Errorf("step without the fields = %+v, want zero values", st)
	}
}

func TestParseMemory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
	}{
		{"4Mi", 4 << 20},
		{"4096Ki", 4 << 20},
		{"512Mi", 512 << 20},
		{"2Gi", 2 << 30},
		{"64M", 64e6},
		{"1G", 1e9},
		{"5000k", 5e6},
		{"0512Mi", 512 << 20},
		{"8589934591Gi", 8589934591 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("x.yaml", []byte("name: x\nsteps:\n  - {name: a, command: [a], resources: {memory: "+tt.in+"}}\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Steps[0].Resources.MemoryBytes; got != tt.want {
				t.Errorf("memory %s = %d bytes, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseCPUs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
	}{
		{"1", 1e9},
		{"1.5", 1_500_000_000},
		{"0.1", 100_000_000},
		{".5", 500_000_000},
		{"+2", 2e9},
		{"2.", 2e9},
		{"0.000000001", 1},
		{"1.1000000000000", 1_100_000_000},
		{"1024", 1024e9},
		{"1024.000", 1024e9},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("x.yaml", []byte("name: x\nsteps:\n  - {name: a, command: [a], resources: {cpus: "+tt.in+"}}\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Steps[0].Resources.NanoCPUs; got != tt.want {
				t.Errorf("cpus %s = %d nanoCPUs, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseIsolationErrors(t *testing.T) {
	t.Parallel()
	// step is a step b with its fields on one line, for errors on line 4.
	step := func(fields string) string { return base + "  - {name: b, command: [b], " + fields + "}\n" }
	tests := []struct {
		name, in, want string
	}{
		{"unknown step field", step("readonly: true"), `x.yaml:4: steps[1]: unknown field "readonly"; did you mean "read_only"?`},

		{"secrets not list", step("secrets: db_password"), `x.yaml:4: steps[1].secrets: is the string "db_password"; write a list, e.g. [{name: db_password}, {name: api_key, env: API_KEY}]`},
		{"secrets null", step("secrets: "), "x.yaml:4: steps[1].secrets: is empty; write a list"},
		{"secret string", step("secrets: [db_password]"), `x.yaml:4: steps[1].secrets[0]: is the string "db_password"; write a mapping, e.g. {name: db_password} or {name: api_key, env: API_KEY}`},
		{"secret missing name", step("secrets: [{env: API_KEY}]"), "x.yaml:4: steps[1].secrets[0]: missing name; add e.g. name: db_password"},
		{"secret unknown field", step("secrets: [{name: a, envv: A}]"), `x.yaml:4: steps[1].secrets[0]: unknown field "envv"; did you mean "env"? Allowed: env and name`},
		{"secret name empty", step("secrets: [{name: ''}]"), `x.yaml:4: steps[1].secrets[0].name: "" is empty; use letters, digits, _, . and -, starting with a letter or _, at most 128 characters`},
		{"secret name digit", step("secrets: [{name: 1pass}]"), `x.yaml:4: steps[1].secrets[0].name: "1pass" is not a valid secret name; use letters, digits, _, . and -, starting with a letter or _`},
		{"secret name slash", step("secrets: [{name: ../etc/passwd}]"), `x.yaml:4: steps[1].secrets[0].name: "../etc/passwd" is not a valid secret name`},
		{"secret name space", step("secrets: [{name: 'db password'}]"), `steps[1].secrets[0].name: "db password" is not a valid secret name`},
		{"secret name long", step("secrets: [{name: " + strings.Repeat("a", 129) + "}]"), "steps[1].secrets[0].name: \"" + strings.Repeat("a", 64) + "\" is 129 characters long; use letters"},
		{"secret name list", step("secrets: [{name: [a]}]"), "x.yaml:4: steps[1].secrets[0].name: is a list; write a string"},
		{"secret name twice", base + "  - name: b\n    command: [b]\n    secrets:\n      - name: a\n      - name: a\n", `x.yaml:8: steps[1].secrets[1].name: "a" is listed twice, also at steps[1].secrets[0]; list each secret once`},
		{"secret env invalid", step("secrets: [{name: a, env: API-KEY}]"), `x.yaml:4: steps[1].secrets[0].env: is not a valid environment variable name: variable name "API-KEY" contains '-'`},
		{"secret env baton", step("secrets: [{name: a, env: BATON_TOKEN}]"), "x.yaml:4: steps[1].secrets[0].env: names starting with BATON_ are baton's own; pick another name, e.g. API_KEY, or leave env out to get the secret as a file in /run/secrets"},
		{"secret env default prefix", step("secrets: [{name: a, env: BATON_VAR_X}]"), "steps[1].secrets[0].env: names starting with BATON_ are baton's own"},
		{"secret env prefix", "name: x\nenv_prefix: ___\nsteps:\n  - {name: a, command: [a], secrets: [{name: a, env: ___A}]}\n", `x.yaml:4: steps[0].secrets[0].env: "___A" starts with "___", the env_prefix of run variables; pick another name, e.g. API_KEY`},
		{"secret env path", step("secrets: [{name: a, env: PATH}]"), "x.yaml:4: steps[1].secrets[0].env: PATH is set by the container or read by shells as they start; pick another name"},
		{"secret env home", step("secrets: [{name: a, env: HOME}]"), "steps[1].secrets[0].env: HOME is set by the container"},
		{"secret env bash_env", step("secrets: [{name: a, env: BASH_ENV}]"), "steps[1].secrets[0].env: BASH_ENV is set by the container"},
		{"secret env ld", step("secrets: [{name: a, env: LD_PRELOAD}]"), "x.yaml:4: steps[1].secrets[0].env: names starting with LD_ change how the dynamic linker loads every program; pick another name"},
		{"secret env twice", base + "  - name: b\n    command: [b]\n    secrets:\n      - {name: a, env: KEY}\n      - {name: b, env: KEY}\n", `x.yaml:8: steps[1].secrets[1].env: "KEY" is also the env of steps[1].secrets[0]; give each secret its own variable`},
		{"secret env in env", step("env: {KEY: x}, secrets: [{name: a, env: KEY}]"), `x.yaml:4: steps[1].secrets[0].env: "KEY" is also set by this step's env; remove it from one of them`},
		{"secret env null", step("secrets: [{name: a, env: }]"), "x.yaml:4: steps[1].secrets[0].env: is empty; write a string"},

		{"env ld", step("env: {LD_PRELOAD: /x.so}"), "x.yaml:4: steps[1].env.LD_PRELOAD: names starting with LD_ change how the dynamic linker loads every program; set it inside command instead, e.g. [sh, -c, 'LD_LIBRARY_PATH=/opt/lib exec ./run'], or in the image"},
		{"env ld bare", step("env: {LD_: x}"), "x.yaml:4: steps[1].env.LD_: names starting with LD_"},

		{"resources not mapping", step("resources: 512Mi"), `x.yaml:4: steps[1].resources: is the string "512Mi"; write a mapping, with the fields cpus, memory and pids`},
		{"resources unknown", step("resources: {mem: 1G}"), `x.yaml:4: steps[1].resources: unknown field "mem"; did you mean "memory"? Allowed: cpus, memory and pids`},
		{"resources typo", step("resources: {memroy: 1G}"), `x.yaml:4: steps[1].resources: unknown field "memroy"; did you mean "memory"?`},
		{"memory bare number", step("resources: {memory: 536870912}"), "x.yaml:4: steps[1].resources.memory: is the number 536870912; write a whole number and a unit, k, M, G (powers of 1000) or Ki, Mi, Gi (powers of 1024), e.g. 512Mi or 1G"},
		{"memory null", step("resources: {memory: }"), "steps[1].resources.memory: is empty; write a whole number and a unit"},
		{"memory list", step("resources: {memory: [1G]}"), "steps[1].resources.memory: is a list; write a whole number and a unit"},
		{"memory docker m", step("resources: {memory: 512m}"), `x.yaml:4: steps[1].resources.memory: "512m": the unit "m" is not accepted; did you mean 512Mi? Units are k, M, G (powers of 1000) or Ki, Mi, Gi (powers of 1024)`},
		{"memory MB", step("resources: {memory: 64MB}"), `steps[1].resources.memory: "64MB": the unit "MB" is not accepted; did you mean 64M?`},
		{"memory GiB", step("resources: {memory: 2GiB}"), `did you mean 2Gi?`},
		{"memory K", step("resources: {memory: 8192K}"), `did you mean 8192Ki?`},
		{"memory unknown unit", step("resources: {memory: 1Ti}"), `x.yaml:4: steps[1].resources.memory: "1Ti" is not a size; write a whole number and a unit`},
		{"memory no number", step("resources: {memory: Mi}"), `x.yaml:4: steps[1].resources.memory: "Mi" is not a size`},
		{"memory decimal", step("resources: {memory: 1.5Gi}"), `steps[1].resources.memory: "1.5Gi" is not a size; write a whole number and a unit`},
		{"memory space", step("resources: {memory: 512 Mi}"), `steps[1].resources.memory: "512 Mi" is not a size`},
		{"memory negative", step("resources: {memory: -1Gi}"), `steps[1].resources.memory: "-1Gi" is not a size`},
		{"memory small", step("resources: {memory: 4095Ki}"), "x.yaml:4: steps[1].resources.memory: is 4095Ki, below the minimum of 4Mi; write 4Mi or more, e.g. 512Mi, or leave memory out for no limit"},
		{"memory zero", step("resources: {memory: 0Mi}"), "steps[1].resources.memory: is 0Mi, below the minimum of 4Mi"},
		{"memory 4M", step("resources: {memory: 4M}"), "steps[1].resources.memory: is 4M, below the minimum of 4Mi"},
		{"memory too large", step("resources: {memory: 8589934592Gi}"), `x.yaml:4: steps[1].resources.memory: "8589934592Gi" is too large; write at most 8589934591Gi`},
		{"memory huge", step("resources: {memory: 99999999999999999999k}"), `steps[1].resources.memory: "99999999999999999999k" is too large`},
		{"pids zero", step("resources: {pids: 0}"), "x.yaml:4: steps[1].resources.pids: is 0; write a whole number from 1 to 1000000, or leave pids out for no limit"},
		{"pids high", step("resources: {pids: 1000001}"), "steps[1].resources.pids: is 1000001; write a whole number from 1 to 1000000"},
		{"pids string", step("resources: {pids: many}"), `steps[1].resources.pids: is the string "many"; write a whole number from 1 to 1000000`},
		{"pids float", step("resources: {pids: 1.5}"), "steps[1].resources.pids: is the number 1.5; write a whole number"},
		{"cpus zero", step("resources: {cpus: 0}"), "x.yaml:4: steps[1].resources.cpus: is 0; write a number above 0 and at most 1024, with at most 9 decimals, e.g. 1.5, or leave cpus out for no limit"},
		{"cpus zero float", step("resources: {cpus: 0.0}"), "steps[1].resources.cpus: is 0.0; write a number above 0"},
		{"cpus negative", step("resources: {cpus: -1.5}"), "x.yaml:4: steps[1].resources.cpus: is -1.5; write a number above 0 and at most 1024"},
		{"cpus high", step("resources: {cpus: 1024.5}"), "x.yaml:4: steps[1].resources.cpus: is 1024.5; write a number above 0 and at most 1024, with at most 9 decimals, e.g. 1.5"},
		{"cpus huge", step("resources: {cpus: 99999999999999999999}"), "steps[1].resources.cpus: is 99999999999999999999; write a number above 0 and at most 1024"},
		{"cpus too precise", step("resources: {cpus: 0.0000000001}"), "steps[1].resources.cpus: is 0.0000000001; write a number above 0 and at most 1024, with at most 9 decimals"},
		{"cpus string", step("resources: {cpus: two}"), `x.yaml:4: steps[1].resources.cpus: is the string "two"; write a number above 0`},
		{"cpus quoted", step("resources: {cpus: '1.5'}"), `steps[1].resources.cpus: is the string "1.5"; write a number above 0`},
		{"cpus exponent", step("resources: {cpus: 1e3}"), `x.yaml:4: steps[1].resources.cpus: "1e3" is not a plain decimal number; write a number above 0`},
		{"cpus hex", step("resources: {cpus: 0x10}"), `steps[1].resources.cpus: "0x10" is not a plain decimal number`},
		{"cpus inf", step("resources: {cpus: .inf}"), `steps[1].resources.cpus: ".inf" is not a plain decimal number`},
		{"cpus nan", step("resources: {cpus: .nan}"), `steps[1].resources.cpus: ".nan" is not a plain decimal number`},

		{"user empty", step("user: ''"), `x.yaml:4: steps[1].user: is empty; write a user id, uid:gid, or a user name, e.g. "1000:1000" or nobody, or leave user out for the image's user`},
		{"user null", step("user: "), "x.yaml:4: steps[1].user: is empty; write a string"},
		{"user three parts", step("user: '1:2:3'"), `x.yaml:4: steps[1].user: "1:2:3" has more than one :; write a user id, uid:gid, or a user name`},
		{"user empty group", step("user: '1000:'"), `x.yaml:4: steps[1].user: "1000:" is not a user; write a user id, uid:gid, or a user name`},
		{"user empty uid", step("user: ':1000'"), `steps[1].user: ":1000" is not a user`},
		{"user negative", step("user: -1"), `steps[1].user: "-1" is not a user`},
		{"user space", step("user: 'my user'"), `steps[1].user: "my user" is not a user`},
		{"user too large", step("user: 4294967295"), `steps[1].user: "4294967295" is not a user`},
		{"user digit name", step("user: 1abc"), `steps[1].user: "1abc" is not a user`},
		{"user long name", step("user: " + strings.Repeat("a", 33)), `is not a user`},
		{"user list", step("user: [1000]"), "x.yaml:4: steps[1].user: is a list; write a string"},

		{"read_only string", step("read_only: yes"), `x.yaml:4: steps[1].read_only: is the string "yes"; write true or false`},
		{"read_only number", step("read_only: 1"), "x.yaml:4: steps[1].read_only: is the number 1; write true or false"},

		{"cap_add string", step("cap_add: NET_ADMIN"), `x.yaml:4: steps[1].cap_add: is the string "NET_ADMIN"; write a list of capabilities, e.g. [NET_BIND_SERVICE]`},
		{"cap_add lower", step("cap_add: [net_admin]"), `x.yaml:4: steps[1].cap_add[0]: "net_admin" is not upper case; write NET_ADMIN`},
		{"cap_add lower prefix", step("cap_add: [cap_net_raw]"), `steps[1].cap_add[0]: "cap_net_raw" is not upper case; write NET_RAW`},
		{"cap_add typo", step("cap_add: [NET_ADMN]"), `x.yaml:4: steps[1].cap_add[0]: "NET_ADMN" is not a Linux capability; did you mean NET_ADMIN? Write a Linux capability in upper case, with or without CAP_, e.g. NET_BIND_SERVICE; see capabilities(7)`},
		{"cap_add unknown", step("cap_add: [SUPERPOWER]"), `x.yaml:4: steps[1].cap_add[0]: "SUPERPOWER" is not a Linux capability; write a Linux capability in upper case, with or without CAP_, e.g. NET_BIND_SERVICE`},
		{"cap_add prefix only", step("cap_add: [CAP_]"), `steps[1].cap_add[0]: "CAP_" is not a Linux capability`},
		{"cap_add all", step("cap_add: [ALL]"), `x.yaml:4: steps[1].cap_add[0]: "ALL" is not accepted; list each capability the step needs, e.g. [NET_BIND_SERVICE, NET_RAW]`},
		{"cap_add twice", base + "  - name: b\n    command: [b]\n    cap_add:\n      - NET_RAW\n      - CAP_NET_RAW\n", "x.yaml:8: steps[1].cap_add[1]: NET_RAW is listed twice; list it once"},
		{"cap_add item list", step("cap_add: [[NET_RAW]]"), "x.yaml:4: steps[1].cap_add[0]: is a list; write a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("x.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", s, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error:\n%s\nwant it to contain\n%s", err, tt.want)
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.File != "x.yaml" {
				t.Errorf("Parse error %v is not an *Error for x.yaml", err)
			}
		})
	}
}
