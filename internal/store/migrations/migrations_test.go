package migrations_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/baton-dev/baton/internal/store/migrations"
)

func TestList(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   []string
		want    string // the names by version, joined by " "
		wantErr string
	}{
		{"by number, not by name", []string{"10_c.sql", "0002_b.sql", "0001_a.sql"}, "0001_a.sql 0002_b.sql 10_c.sql", ""},
		{"other files ignored", []string{"0001_a.sql", "README.md", "0002_b.txt"}, "0001_a.sql", ""},
		{"none", nil, "", ""},
		{"no number", []string{"init.sql"}, "", `migration "init.sql": name must start with a positive number and _`},
		{"no underscore", []string{"0001.sql"}, "", `migration "0001.sql": name must start with a positive number and _`},
		{"version zero", []string{"0000_a.sql"}, "", `migration "0000_a.sql": name must start with a positive number and _`},
		{"negative", []string{"-1_a.sql"}, "", `migration "-1_a.sql": name must start with a positive number and _`},
		{"same version", []string{"0001_a.sql", "1_b.sql"}, "", `migrations "0001_a.sql" and "1_b.sql": same version`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["m/"+f] = &fstest.MapFile{Data: []byte("-- " + f)}
			}
			fsys["other/0003_elsewhere.sql"] = &fstest.MapFile{Data: []byte("--")}
			ms, err := migrations.List(fsys, "m")
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("List: got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var names []string
			for _, m := range ms {
				names = append(names, m.Name)
				if m.SQL != "-- "+m.Name {
					t.Errorf("%s: SQL %q, want its file's text", m.Name, m.SQL)
				}
			}
			if got := strings.Join(names, " "); got != tc.want {
				t.Fatalf("List: %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPending(t *testing.T) {
	ms := []migrations.Migration{{Version: 1, Name: "a"}, {Version: 2, Name: "b"}, {Version: 5, Name: "c"}}
	for _, tc := range []struct {
		current int
		want    string
	}{
		{0, "a b c"},
		{1, "b c"},
		{3, "c"},
		{5, ""},
	} {
		got, err := migrations.Pending(ms, tc.current)
		if err != nil {
			t.Fatalf("Pending at %d: %v", tc.current, err)
		}
		var names []string
		for _, m := range got {
			names = append(names, m.Name)
		}
		if strings.Join(names, " ") != tc.want {
			t.Errorf("Pending at %d: %q, want %q", tc.current, strings.Join(names, " "), tc.want)
		}
	}
	_, err := migrations.Pending(ms, 6)
	want := "database schema is version 6, this baton knows up to 5: upgrade baton or use another database"
	if err == nil || err.Error() != want {
		t.Fatalf("Pending of a newer schema: got %v, want %q", err, want)
	}
	if _, err := migrations.Pending(nil, 1); err == nil {
		t.Fatal("Pending of a schema with no migrations known: got no error")
	}
	if got, err := migrations.Pending(nil, 0); err != nil || len(got) != 0 {
		t.Fatalf("Pending of nothing: %v, %v", got, err)
	}
}
