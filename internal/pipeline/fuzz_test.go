package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"",
		base,
		base + "  - {name: b, command: [b], needs: [c]}\n  - {name: c, command: [c]}\n",
		"name: x\nsteps:\n  - &s {name: a, command: &c [x, y]}\n  - {name: b, command: *c, needs: [a]}\n",
		base + "vars: {a: '{{ .Vars.b }}', b: '{{ range .Params }}{{ end }}'}\n",
		base + "schedules: [{cron: 'TZ=UTC'}]\n",
		base + "env_prefix: G\nvars: {IT_DIR: x, OK: y}\n",
		base + "timeout: 1h\nconcurrency: 3\nschedules: [{cron: '@every 1s', overlap: queue, catchup: all}, {cron: '@every 1s'}]\n",
		base + "  - {name: b, command: [b], retry: {limit: 3, backoff: 1s, max_backoff: 4s, exit_codes: [1, 75]}}\n",
		"a: 1\n---\nb: 2\n",
		"executor: local\n" + base + "  - {name: b, command: [b], executor: swarm}\n",
		base + "  - {name: b, command: [b], user: '1000:1000', read_only: true, cap_add: [NET_RAW, CAP_CHOWN]}\n",
		base + "  - {name: b, command: [b], env: {K: v}, secrets: [{name: s.1}, {name: t, env: T}], resources: {memory: 512Mi, pids: 9, cpus: 0.5}}\n",
		base + "  - {name: g, approval: {timeout: 24h, message: 'Deploy?'}}\n  - {name: d, command: [d]}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if len(s.Steps) == 0 || envPrefixProblem(s.EnvPrefix) != "" {
			t.Fatalf("accepted a spec without steps or with env prefix %q: %+v", s.EnvPrefix, s)
		}
		for _, v := range s.Vars {
			if err := CheckVarName(s.EnvPrefix, v.Name); err != nil {
				t.Fatalf("accepted var %q: %v", v.Name, err)
			}
		}
		seen := make(map[string]bool)
		for i, st := range s.Steps {
			if seen[st.Name] {
				t.Fatalf("duplicate step %q accepted", st.Name)
			}
			seen[st.Name] = true
			if i > 0 && st.Needs == nil {
				t.Fatalf("step %q has nil Needs", st.Name)
			}
			if st.Pull == "" || len(st.Command) == 0 && st.Approval == nil && st.Pipeline == nil {
				t.Fatalf("step %q lacks pull or command", st.Name)
			}
		}
		if s.Timeout < 0 || s.Concurrency < 0 || s.Concurrency > maxConcurrency {
			t.Fatalf("accepted timeout %s, concurrency %d", s.Timeout, s.Concurrency)
		}
		for _, st := range s.Steps {
			r := st.Retry
			if r.MaxBackoff < r.Backoff || r.Backoff < 0 {
				t.Fatalf("step %q: accepted retry %+v", st.Name, r)
			}
			for _, code := range r.ExitCodes {
				if code < 1 || code > 255 || !r.Retryable(code) {
					t.Fatalf("step %q: accepted exit code %d", st.Name, code)
				}
			}
			if r.Limit > 0 && (r.Delay(r.Limit+1) < r.Delay(2) || r.Delay(r.Limit+1) > r.MaxBackoff) {
				t.Fatalf("step %q: %+v.Delay is out of order", st.Name, r)
			}
			checkIsolation(t, s, &st)
		}
		keys := make(map[string]bool)
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for _, sch := range s.Schedules {
			if keys[sch.Key] || sch.sched == nil {
				t.Fatalf("schedule %q: key %q repeated or schedule not parsed", sch.Cron, sch.Key)
			}
			keys[sch.Key] = true
			if !slices.Contains(overlapPolicies, sch.Overlap) || !slices.Contains(catchupPolicies, sch.Catchup) {
				t.Fatalf("schedule %q: accepted overlap %q, catchup %q", sch.Cron, sch.Overlap, sch.Catchup)
			}
			if next := sch.Next(at); !next.IsZero() && !next.After(at) {
				t.Fatalf("schedule %q: Next(%s) = %s, not after it", sch.Cron, at, next)
			}
		}
		order := s.Order()
		pos := make(map[string]int, len(order))
		for i, name := range order {
			pos[name] = i
		}
		if len(order) != len(s.Steps) {
			t.Fatalf("Order = %v for %d steps", order, len(s.Steps))
		}
		for _, st := range s.Steps {
			for _, need := range st.Needs {
				p, ok := pos[need]
				if !ok || p >= pos[st.Name] {
					t.Fatalf("step %q needs %q, which is unknown or not before it in %v (a cycle?)", st.Name, need, order)
				}
			}
			if slices.Contains(s.Ancestors(st.Name), st.Name) {
				t.Fatalf("step %q is its own ancestor", st.Name)
			}
		}
	})
}

// checkIsolation checks what Parse promises about a step's secrets,
// resources, user and capabilities.
func checkIsolation(t *testing.T, s *Spec, st *Step) {
	t.Helper()
	names := make(map[string]bool)
	envs := make(map[string]bool)
	for _, sec := range st.Secrets {
		if secretNameProblem(sec.Name) != "" || names[sec.Name] {
			t.Fatalf("step %q: accepted secret name %q", st.Name, sec.Name)
		}
		names[sec.Name] = true
		if sec.Env == "" {
			continue
		}
		_, inEnv := st.Env[sec.Env]
		if IsReservedName(sec.Env) || strings.HasPrefix(sec.Env, s.EnvPrefix) || envs[sec.Env] || inEnv {
			t.Fatalf("step %q: accepted secret env %q", st.Name, sec.Env)
		}
		envs[sec.Env] = true
	}
	for key := range st.Env {
		if IsReservedName(key) && !slices.Contains(reservedNames, key) {
			t.Fatalf("step %q: accepted env key %q", st.Name, key)
		}
	}
	r := st.Resources
	if r.MemoryBytes != 0 && r.MemoryBytes < minMemoryBytes || r.PIDs < 0 || r.PIDs > maxPIDs || r.NanoCPUs < 0 || r.NanoCPUs > maxCPUs*1e9 {
		t.Fatalf("step %q: accepted resources %+v", st.Name, r)
	}
	if st.User != "" && userProblem(st.User) != "" {
		t.Fatalf("step %q: accepted user %q", st.Name, st.User)
	}
	for i, c := range st.CapAdd {
		if !slices.Contains(capabilities, c) || slices.Contains(st.CapAdd[:i], c) {
			t.Fatalf("step %q: accepted cap_add %q", st.Name, st.CapAdd)
		}
	}
}
