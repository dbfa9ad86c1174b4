package pipeline

import "testing"

func TestIsReservedName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool
	}{
		{"PATH", true},
		{"HOME", true},
		{"SHELL", true},
		{"IFS", true},
		{"ENV", true},
		{"BASH_ENV", true},
		{"HOSTNAME", true},
		{"LD_PRELOAD", true},
		{"LD_LIBRARY_PATH", true},
		{"LD_", true},
		{"BATON_TOKEN", true},
		{"BATON_", true},
		{"", true},
		{"A=B", true},
		{"A\x00", true},
		{"A\nB", true},
		{"path", false},
		{"ld_preload", false},
		{"baton_token", false},
		{"PATHS", false},
		{"MY_PATH", false},
		{"LD", false},
		{"BATON", false},
		{"BATON_VARX", true},
		{"API_KEY", false},
		{"___X", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsReservedName(tt.name); got != tt.want {
				t.Errorf("IsReservedName(%q) = %t, want %t", tt.name, got, tt.want)
			}
		})
	}
}
