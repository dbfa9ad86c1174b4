package postgres

import (
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store/identityfile"
)

// readIdentityFile returns the identity the file names; ok is false when
// there is no such file. A store's identity is made when the store is
// first opened and kept in its identity table and in a file in each data
// dir that used it (see [identityfile]), so that a database which was
// dropped, emptied or swapped while the file stayed is noticed instead of
// started afresh.
func readIdentityFile(path string) (id identityfile.Identity, ok bool, err error) {
	id, ok, err = identityfile.Read(path)
	if errors.Is(err, identityfile.ErrNoID) {
		return id, false, fmt.Errorf("%s names no store (no id= line); restore it, or remove it if the database the URL names is the one you mean to use", path)
	}
	return id, ok, err
}

// writeIdentityFile writes the file whole or not at all. where, the
// database without credentials, is there for whoever reads the file.
func writeIdentityFile(path string, id identityfile.Identity, where string) error {
	return identityfile.Write(path, id, "# The PostgreSQL store this data dir's baton used ("+where+").\n"+
		"# While this file is here, baton refuses to start on a store that is empty\n"+
		"# or another one: it would forget every run it accepted.\n")
}
