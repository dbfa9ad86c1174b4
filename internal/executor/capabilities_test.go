package executor

import (
	"slices"
	"testing"
)

func TestCapabilities(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want []string
		ok   bool
	}{
		{nil, nil, true},
		{[]string{"NET_BIND_SERVICE", "cap_chown", " Mknod "}, []string{"NET_BIND_SERVICE", "CHOWN", "MKNOD"}, true},
		{[]string{"ALL"}, nil, false},
		{[]string{"CAP_ALL"}, nil, false},
		{[]string{"NET_BIND"}, nil, false},
		{[]string{""}, nil, false},
	} {
		got, err := Capabilities(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("Capabilities(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
