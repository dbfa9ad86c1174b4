package postgres

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// identity names one store: made when the store is first opened, kept in
// its identity table and in a file in each data dir that used it, so that
// a database which was dropped, emptied or swapped while the file stayed is
// noticed instead of started afresh.
type identity struct {
	id      string
	created time.Time
}

// maxIdentityFile bounds what is read of an identity file.
const maxIdentityFile = 4 << 10

func newIdentity() identity {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return identity{id: hex.EncodeToString(b[:]), created: time.Now().UTC().Truncate(time.Second)}
}

// readIdentityFile returns the identity the file names; ok is false when
// there is no such file.
func readIdentityFile(path string) (id identity, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return identity{}, false, nil
	}
	if err != nil {
		return identity{}, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxIdentityFile))
	for sc.Scan() {
		key, value, _ := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		switch key {
		case "id":
			id.id = value
		case "created":
			id.created, _ = time.Parse(time.RFC3339, value)
		}
	}
	if err := sc.Err(); err != nil {
		return identity{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	if id.id == "" {
		return identity{}, false, fmt.Errorf("%s names no store (no id= line); restore it, or remove it if the database the URL names is the one you mean to use", path)
	}
	return id, true, nil
}

// writeIdentityFile writes the file whole or not at all. where, the
// database without credentials, is there for whoever reads the file.
func writeIdentityFile(path string, id identity, where string) error {
	text := "# The PostgreSQL store this data dir's baton used (" + where + ").\n" +
		"# While this file is here, baton refuses to start on a store that is empty\n" +
		"# or another one: it would forget every run it accepted.\n" +
		"id=" + id.id + "\ncreated=" + id.created.UTC().Format(time.RFC3339) + "\n"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".identity-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.WriteString(text)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// describe says where an identity came from, for a refusal.
func (id identity) describe(file string) string {
	s := fmt.Sprintf("%s names store %s", file, id.id)
	if !id.created.IsZero() {
		s += ", created " + id.created.UTC().Format(time.RFC3339)
	}
	return s
}
