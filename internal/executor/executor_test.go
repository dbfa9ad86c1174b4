package executor_test

import (
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/executor"
)

func TestSlug(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec executor.Spec
		max  int
		want string
	}{
		{executor.Spec{RunID: "20261123t040701-3f9a1c2b", Step: "collect", Attempt: 2}, 100, "20261123t040701-3f9a1c2b-collect-2"},
		{executor.Spec{RunID: "r", Step: "a b/c:d", Attempt: 1}, 100, "r-a-b-c-d-1"},
		{executor.Spec{RunID: "r", Step: strings.Repeat("x", 50), Attempt: 1}, 10, "r-xxxxxxxx"},
	}
	for _, c := range cases {
		if got := c.spec.Slug(c.max); got != c.want {
			t.Errorf("Slug(%d) of %+v = %q, want %q", c.max, c.spec, got, c.want)
		}
	}
}
