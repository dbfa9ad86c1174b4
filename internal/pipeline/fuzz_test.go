package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
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
		"a: 1\n---\nb: 2\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if len(s.Steps) == 0 || s.EnvPrefix == "" {
			t.Fatalf("accepted a spec without steps or env prefix: %+v", s)
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
			if st.Pull == "" || len(st.Command) == 0 {
				t.Fatalf("step %q lacks pull or command", st.Name)
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
