package suggest

import "testing"

func TestClosest(t *testing.T) {
	t.Parallel()
	known := []string{"timeout", "retry", "image", "needs", "Target", "pipelines"}
	for _, tc := range []struct{ in, want string }{
		{"timeuot", "timeout"}, // transposition: two edits
		{"imgae", "image"},
		{"IMAGE", "image"},   // case does not count
		{"target", "Target"}, // either side
		{"pipe", "pipelines"},
		{"need", "needs"},
		{"p", ""},   // one letter begins too much
		{"xyz", ""}, // nothing close
		{"retries", ""},
		{"", ""},
	} {
		if got := Closest(tc.in, known); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
