// Package identityfile reads and writes the small file, kept in a data
// dir, that names the database the data dir was used with: a store made
// the database, gave it an identity, and wrote that identity beside it.
// While the file is there, a store refuses a database that is empty
// (dropped, deleted, its WAL lost) or another one, instead of starting
// afresh and forgetting every run it accepted.
//
// The file is text: comment lines starting with #, then id=ID and
// created=TIME (RFC 3339) lines.
package identityfile

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

// Identity names one database.
type Identity struct {
	ID string
	// Created is when the identity was made, to the second; zero when the
	// file did not say.
	Created time.Time
}

// New makes a new identity: 128 random bits, created now.
func New() Identity {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return Identity{ID: hex.EncodeToString(b[:]), Created: time.Now().UTC().Truncate(time.Second)}
}

// OrNew is the identity a database that has none is given: id, dated now
// if it has no date, or a new one when id names nothing.
func (id Identity) OrNew() Identity {
	if id.ID == "" {
		return New()
	}
	if id.Created.IsZero() {
		id.Created = time.Now().UTC().Truncate(time.Second)
	}
	return id
}

// Describe says where id came from, for a refusal: "FILE names WHAT ID,
// created TIME", what being what the identity names ("database", "store").
func (id Identity) Describe(file, what string) string {
	s := fmt.Sprintf("%s names %s %s", file, what, id.ID)
	if !id.Created.IsZero() {
		s += ", created " + id.Created.UTC().Format(time.RFC3339)
	}
	return s
}

// MaxSize bounds what is read of a file.
const MaxSize = 4 << 10

// ErrNoID is the refusal of a file that names nothing: it has no id= line.
// The caller says what to do about it, which depends on the store.
var ErrNoID = errors.New("no id= line")

// Read returns the identity the file at path names; ok is false when
// there is no such file. Lines it does not know are skipped, and so is a
// created= line that is not RFC 3339; a file without an id= line is
// [ErrNoID]. At most [MaxSize] bytes are read.
func Read(path string) (id Identity, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Identity{}, false, nil
	}
	if err != nil {
		return Identity{}, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, MaxSize))
	for sc.Scan() {
		key, value, _ := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		switch key {
		case "id":
			id.ID = value
		case "created":
			id.Created, _ = time.Parse(time.RFC3339, value)
		}
	}
	if err := sc.Err(); err != nil {
		return Identity{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	if id.ID == "" {
		return Identity{}, false, ErrNoID
	}
	return id, true, nil
}

// Write writes the file whole or not at all, mode 0600, making its
// directory if missing: comment, which should end in a newline and have
// every line start with #, then the identity.
func Write(path string, id Identity, comment string) error {
	text := comment + "id=" + id.ID + "\ncreated=" + id.Created.UTC().Format(time.RFC3339) + "\n"
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
