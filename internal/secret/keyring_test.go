package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	r := NewKeyring(GenerateKey())
	for _, plain := range [][]byte{nil, []byte("x"), []byte("hunter2 correct horse"), bytes.Repeat([]byte{0, 0xff}, 40000)} {
		sealed, id, err := r.Seal("db_password", plain)
		if err != nil {
			t.Fatal(err)
		}
		if id != r.PrimaryID() {
			t.Fatalf("Seal key ID = %s, want primary %s", id, r.PrimaryID())
		}
		if len(plain) > 4 && bytes.Contains(sealed, plain[:5]) {
			t.Fatal("sealed value holds the plaintext")
		}
		got, err := r.Open("db_password", sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
		again, _, _ := r.Seal("db_password", plain)
		if bytes.Equal(again, sealed) {
			t.Fatal("two seals of one value are equal; the nonce is not random")
		}
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	r := NewKeyring(GenerateKey())
	plain := []byte("s3cr3t-value")
	sealed, _, err := r.Seal("api_token", plain)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, name string, sealed []byte, want error) {
		t.Helper()
		got, err := r.Open(name, sealed)
		if !errors.Is(err, want) {
			t.Fatalf("Open = %q, %v; want error %v", got, err, want)
		}
		if got != nil || strings.Contains(err.Error(), string(plain)) {
			t.Fatalf("Open leaked the plaintext: %q, %v", got, err)
		}
	}
	t.Run("wrong name", func(t *testing.T) {
		check(t, "other_token", sealed, ErrInvalid)
	})
	t.Run("every tampered byte", func(t *testing.T) {
		for i := range sealed {
			bad := bytes.Clone(sealed)
			bad[i] ^= 0x01
			want := ErrInvalid
			if i >= 1 && i < headerSize {
				want = ErrUnknownKey // the key ID itself
			}
			check(t, "api_token", bad, want)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for n := range len(sealed) {
			check(t, "api_token", sealed[:n], ErrInvalid)
		}
	})
	t.Run("extended", func(t *testing.T) {
		check(t, "api_token", append(bytes.Clone(sealed), 0), ErrInvalid)
	})
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := GenerateKey(), GenerateKey()
	before := NewKeyring(oldKey)
	sealedOld, oldID, err := before.Seal("x", []byte("value"))
	if err != nil {
		t.Fatal(err)
	}
	after := NewKeyring(newKey, oldKey)
	if !after.NeedsRotation(sealedOld) {
		t.Fatal("a value sealed with the old key does not need rotation")
	}
	got, err := after.Open("x", sealedOld)
	if err != nil || string(got) != "value" {
		t.Fatalf("Open with the old key in the ring = %q, %v", got, err)
	}
	sealedNew, newID, err := after.Seal("x", got)
	if err != nil {
		t.Fatal(err)
	}
	if newID != newKey.ID() || newID == oldID {
		t.Fatalf("rotated seal used key %s, want the new primary %s", newID, newKey.ID())
	}
	if after.NeedsRotation(sealedNew) {
		t.Fatal("a value sealed with the primary needs rotation")
	}
	if !after.NeedsRotation([]byte("junk")) {
		t.Fatal("a malformed value does not need rotation; Open would never report it")
	}

	// Once the old key is dropped, what it sealed names it.
	dropped := NewKeyring(newKey)
	_, err = dropped.Open("x", sealedOld)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), oldKey.ID()) {
		t.Fatalf("Open without the sealing key: error = %v, want ErrUnknownKey naming %s", err, oldKey.ID())
	}
	if got, err := dropped.Open("x", sealedNew); err != nil || string(got) != "value" {
		t.Fatalf("Open of the re-sealed value = %q, %v", got, err)
	}
}

func TestNewKeyringDuplicates(t *testing.T) {
	t.Parallel()
	k := GenerateKey()
	r := NewKeyring(k, k, nil, k)
	sealed, _, _ := r.Seal("a", []byte("b"))
	if r.NeedsRotation(sealed) {
		t.Fatal("the primary listed again as an old key took over")
	}
}

func FuzzOpen(f *testing.F) {
	r := NewKeyring(GenerateKey())
	sealed, _, _ := r.Seal("name", []byte("value"))
	f.Add("name", sealed)
	f.Add("", []byte{})
	f.Add("name", []byte{version1, 0, 0, 0, 0})
	f.Add("name", append([]byte{version1}, make([]byte, overhead)...))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		plain, err := r.Open(name, data)
		if err == nil && (name != "name" || !bytes.Equal(data, sealed) || string(plain) != "value") {
			t.Fatalf("Open accepted a forged value: %q", plain)
		}
		r.NeedsRotation(data)
	})
}
