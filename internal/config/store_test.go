package config

import (
	"strings"
	"testing"
)

// TestStore: the store is SQLite unless the file, BATON_STORE or --store
// names a postgres:// URL; a value that is neither is refused without
// being shown, since a URL may carry a password.
func TestStore(t *testing.T) {
	t.Parallel()
	const url = "postgres://baton@db.example:5432/baton?sslmode=verify-full"
	for _, tc := range []struct {
		name string
		src  Source
		want string
	}{
		{"default", Source{}, ""},
		{"sqlite", Source{Flags: map[string][]string{"store": {"sqlite"}}}, StoreSQLite},
		{"file", Source{File: writeFile(t, "store: "+url+"\n")}, url},
		{"variable", Source{Getenv: envOf(map[string]string{"BATON_STORE": "postgresql://h/db"})}, "postgresql://h/db"},
		{"flag over file", Source{File: writeFile(t, "store: "+url+"\n"), Flags: map[string][]string{"store": {"sqlite"}}}, StoreSQLite},
	} {
		c, err := Load(tc.src)
		if err != nil || c.Store != tc.want {
			t.Errorf("%s: store %q, %v; want %q", tc.name, c.Store, err, tc.want)
		}
	}
	for _, bad := range []string{"mysql://u:s3cr3t@h/db", "postgres://u:s3cr3t@h:port/db%zz", "host=h password=s3cr3t", "SQLite"} {
		_, err := Load(Source{File: writeFile(t, "store: '"+bad+"'\n")})
		if err == nil || !strings.Contains(err.Error(), "baton.yaml:1: store: ") || !strings.Contains(err.Error(), "postgres://baton@db.example") {
			t.Errorf("store %q: got %v, want a refusal at the file's line that shows how to write it", bad, err)
		} else if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), bad) {
			t.Errorf("store %q: the refusal %q shows the value", bad, err)
		}
	}
}
