package linediff

import (
	"strings"
	"testing"
)

// FuzzLines checks that any two texts get an exact, shortest (for texts
// small enough to check) and repeatable script, that the coarse paths stay
// exact, and that Hunks groups the script as documented.
func FuzzLines(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nc\nd\n", int8(3), uint8(2), uint16(10))
	f.Add("", "x", int8(0), uint8(0), uint16(0))
	f.Add("x\r\ny\r\n", "x\ny\r\n", int8(1), uint8(1), uint16(1))
	f.Add("a\na\nb\na\nb\nb\n", "b\na\nb\na\na\n", int8(-1), uint8(3), uint16(100))
	f.Add("name: build\nsteps:\n  - run: make\n  - run: test\n", "name: build\nsteps:\n  - run: make all\n  - run: test\n  - run: ship", int8(2), uint8(4), uint16(1000))
	f.Add("\n\n\n", "\n", int8(5), uint8(7), uint16(3))
	f.Fuzz(func(t *testing.T, a, b string, context int8, maxCost uint8, budget uint16) {
		ops := Lines(a, b)
		checkScript(t, a, b, ops)
		if strings.Count(a, "\n") <= 200 && strings.Count(b, "\n") <= 200 {
			if got, want := changes(ops), shortest(a, b); got != want {
				t.Fatalf("Lines(%q, %q) has %d changes, the shortest has %d", a, b, got, want)
			}
		}
		if again := Lines(a, b); script(again) != script(ops) {
			t.Fatalf("Lines(%q, %q) differs from one call to the next", a, b)
		}
		checkHunks(t, ops, int(context), Hunks(ops, int(context)))

		coarse := lines(a, b, int(maxCost%8), int(budget))
		checkScript(t, a, b, coarse)
	})
}
