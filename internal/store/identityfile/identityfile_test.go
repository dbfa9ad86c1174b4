package identityfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store/identityfile"
)

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not", "made", "yet", "x.id")
	id := identityfile.New()
	if len(id.ID) != 32 || id.Created.IsZero() || id.Created.Location() != time.UTC {
		t.Fatalf("New: %+v, want 32 hex digits, created now in UTC", id)
	}
	if other := identityfile.New(); other.ID == id.ID {
		t.Fatalf("New twice: the same ID %s", id.ID)
	}
	if err := identityfile.Write(path, id, "# a comment\n"); err != nil {
		t.Fatalf("Write: %v", err)
	}
	text, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(text), "# a comment\nid="+id.ID+"\n") {
		t.Fatalf("the file: %q, %v", text, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v, %v; want 600", fi.Mode(), err)
	}
	got, ok, err := identityfile.Read(path)
	if err != nil || !ok || got != id {
		t.Fatalf("Read: %+v, %v, %v; want %+v", got, ok, err, id)
	}
	// Written again, the file is replaced whole and no temporary file stays.
	second := identityfile.New()
	if err := identityfile.Write(path, second, ""); err != nil {
		t.Fatalf("Write again: %v", err)
	}
	if got, _, _ := identityfile.Read(path); got != second {
		t.Fatalf("Read after a second Write: %+v, want %+v", got, second)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("the directory holds %d files after two writes, want 1", len(entries))
	}
}

func TestRead(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, text string
		want       identityfile.Identity
		noID       bool
	}{
		{"plain", "id=abc\ncreated=2026-03-01T12:00:00Z\n", identityfile.Identity{ID: "abc", Created: created}, false},
		{"comments and spaces", "# hello\n  id=abc  \n\ncreated=2026-03-01T13:00:00+01:00\nother=1\n", identityfile.Identity{ID: "abc", Created: created}, false},
		{"no date", "id=abc\n", identityfile.Identity{ID: "abc"}, false},
		{"bad date", "id=abc\ncreated=yesterday\n", identityfile.Identity{ID: "abc"}, false},
		{"last id wins", "id=a\nid=b\n", identityfile.Identity{ID: "b"}, false},
		{"empty", "", identityfile.Identity{}, true},
		{"empty id", "id=\ncreated=2026-03-01T12:00:00Z\n", identityfile.Identity{}, true},
		{"id past the bound", strings.Repeat("#\n", identityfile.MaxSize) + "id=abc\n", identityfile.Identity{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.id")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, ok, err := identityfile.Read(path)
			if tc.noID {
				if !errors.Is(err, identityfile.ErrNoID) || ok {
					t.Fatalf("Read: %+v, %v, %v; want ErrNoID", got, ok, err)
				}
				return
			}
			if err != nil || !ok || !got.Created.Equal(tc.want.Created) || got.ID != tc.want.ID {
				t.Fatalf("Read: %+v, %v, %v; want %+v", got, ok, err, tc.want)
			}
		})
	}
}

func TestReadMissing(t *testing.T) {
	got, ok, err := identityfile.Read(filepath.Join(t.TempDir(), "none"))
	if err != nil || ok || got != (identityfile.Identity{}) {
		t.Fatalf("Read of no file: %+v, %v, %v; want nothing, no error", got, ok, err)
	}
	// A directory where the file should be is an error, not "no file".
	if _, _, err := identityfile.Read(t.TempDir()); err == nil {
		t.Fatal("Read of a directory: got no error")
	}
}

func TestOrNew(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if got := (identityfile.Identity{ID: "a", Created: created}).OrNew(); got.ID != "a" || !got.Created.Equal(created) {
		t.Errorf("OrNew of a dated identity: %+v, want it unchanged", got)
	}
	if got := (identityfile.Identity{ID: "a"}).OrNew(); got.ID != "a" || got.Created.IsZero() {
		t.Errorf("OrNew of an undated identity: %+v, want it dated now", got)
	}
	if got := (identityfile.Identity{}).OrNew(); got.ID == "" || got.Created.IsZero() {
		t.Errorf("OrNew of nothing: %+v, want a new identity", got)
	}
}

func TestDescribe(t *testing.T) {
	id := identityfile.Identity{ID: "abc", Created: time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("x", 3600))}
	if got, want := id.Describe("/d/x.id", "database"), "/d/x.id names database abc, created 2026-03-01T12:00:00Z"; got != want {
		t.Errorf("Describe: %q, want %q", got, want)
	}
	if got, want := (identityfile.Identity{ID: "abc"}).Describe("f", "store"), "f names store abc"; got != want {
		t.Errorf("Describe without a date: %q, want %q", got, want)
	}
}

// FuzzRead: whatever a file holds, Read does not fail on it (what it reads
// is bounded) and names an identity only from a non-empty id= line, and
// what it names writes back the same.
func FuzzRead(f *testing.F) {
	f.Add("id=abc\ncreated=2026-03-01T12:00:00Z\n")
	f.Add("# c\nid=\n")
	f.Add("id=a=b\r\ncreated=2026-13-01T12:00:00Z")
	f.Add("\x00id=\xff\n")
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.id")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		id, ok, err := identityfile.Read(path)
		if errors.Is(err, identityfile.ErrNoID) {
			return
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if !ok || id.ID == "" || !strings.Contains(text, "id="+id.ID) {
			t.Fatalf("Read of %q: %+v, %v", text, id, ok)
		}
		if id.ID != strings.TrimSpace(id.ID) || strings.ContainsAny(id.ID, "\r\n") {
			return // it cannot go back whole in a line of its own
		}
		again := filepath.Join(dir, "again.id")
		if err := identityfile.Write(again, id, ""); err != nil {
			t.Fatalf("Write: %v", err)
		}
		back, ok, err := identityfile.Read(again)
		if err != nil || !ok || back.ID != id.ID || !back.Created.Equal(id.Created.Truncate(time.Second)) {
			t.Fatalf("Read back %+v: %+v, %v, %v", id, back, ok, err)
		}
	})
}
