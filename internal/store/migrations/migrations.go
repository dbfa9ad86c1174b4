// Package migrations lists the schema migrations a store embeds: files
// named NNNN_what.sql, applied in the order of their numbers, each once.
// Applying them is the store's own: only it knows its SQL and its locks.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one schema change.
type Migration struct {
	// Version is the number the file's name starts with.
	Version int
	// Name is the file's name, without its directory.
	Name string
	SQL  string
}

// List returns the migrations in dir of fsys (its files *.sql) by version.
// A file is named NNNN_what.sql; its number is its version, and no two
// files may share one.
func List(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and _", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q: same version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// Pending returns the migrations of ms, listed by version as [List] gives
// them, that a schema at version current lacks. A schema newer than the
// last of ms is refused: a newer baton wrote it, and this one would
// misread it.
func Pending(ms []Migration, current int) ([]Migration, error) {
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	if current > latest {
		return nil, fmt.Errorf("database schema is version %d, this baton knows up to %d: upgrade baton or use another database", current, latest)
	}
	for i, m := range ms {
		if m.Version > current {
			return ms[i:], nil
		}
	}
	return nil, nil
}
