package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var rawKey = bytes.Repeat([]byte{0xab, 0x01, 0x7f, 0xfe}, 8)

func TestParseKey(t *testing.T) {
	t.Parallel()
	hexKey := hex.EncodeToString(rawKey)
	for _, tc := range []struct {
		name, text string
		wantErr    string // empty: the key parses to rawKey
	}{
		{"hex", hexKey, ""},
		{"upper hex", strings.ToUpper(hexKey), ""},
		{"hex with newline", hexKey + "\n", ""},
		{"std base64", base64.StdEncoding.EncodeToString(rawKey), ""},
		{"raw std base64", base64.RawStdEncoding.EncodeToString(rawKey), ""},
		{"url base64", base64.URLEncoding.EncodeToString(rawKey), ""},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(rawKey), ""},
		{"empty", "  \n", "key is empty"},
		{"short hex", hexKey[:62], "decodes to 31 bytes, want 32"},
		{"long base64", base64.StdEncoding.EncodeToString(append(rawKey, 1)), "decodes to 33 bytes, want 32"},
		{"bad encoding", "not a key!", "neither hex nor base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseKey(tc.text)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseKey error = %v, want one containing %q", err, tc.wantErr)
				}
				if s := strings.TrimSpace(tc.text); s != "" && strings.Contains(err.Error(), s) {
					t.Fatalf("ParseKey error %q quotes the key text", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if !bytes.Equal(k.raw[:], rawKey) {
				t.Fatalf("ParseKey = %x, want %x", k.raw, rawKey)
			}
		})
	}
}

func TestKeyNeverPrintsItsBytes(t *testing.T) {
	t.Parallel()
	k, err := ParseKey(hex.EncodeToString(rawKey))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.ID()) != 8 {
		t.Fatalf("ID = %q, want 8 hex characters", k.ID())
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "key", k)
	type holder struct{ K *Key }
	outputs := map[string]string{
		"String": k.String(),
		"log":    logged.String(),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outputs[verb] = fmt.Sprintf(verb, k)
		outputs[verb+" in struct"] = fmt.Sprintf(verb, holder{k})
	}
	forms := []string{hex.EncodeToString(rawKey), strings.ToUpper(hex.EncodeToString(rawKey)), string(rawKey), base64.StdEncoding.EncodeToString(rawKey)}
	for name, out := range outputs {
		if !strings.Contains(out, k.ID()) {
			t.Errorf("%s = %q, want the key ID %s", name, out, k.ID())
		}
		for _, f := range forms {
			// Any 4 bytes of the key would be too many.
			if strings.Contains(out, f[:8]) {
				t.Errorf("%s = %q prints the key", name, out)
			}
		}
	}
}

func TestGenerateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "key")
	if err := GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %04o, want 0600", info.Mode().Perm())
	}
	k, err := LoadKey(path)
	if err != nil {
		t.Fatalf("LoadKey of a generated file: %v", err)
	}
	before, _ := os.ReadFile(path)
	if err := GenerateKeyFile(path); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("GenerateKeyFile over an existing file: error = %v, want already exists", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("GenerateKeyFile changed an existing key file")
	}
	other := filepath.Join(t.TempDir(), "key")
	if err := GenerateKeyFile(other); err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKey(other)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() == k2.ID() {
		t.Fatalf("two generated keys share ID %s", k.ID())
	}
}

func TestLoadKeyModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	t.Parallel()
	for _, tc := range []struct {
		mode    os.FileMode
		wantErr bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true},
		{0o604, true},
		{0o644, true},
		{0o660, true},
		{0o666, true},
	} {
		t.Run(fmt.Sprintf("%04o", tc.mode), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(path, []byte(hex.EncodeToString(rawKey)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadKey(path)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("LoadKey: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Fatalf("LoadKey error = %v, want one telling to chmod 600", err)
			}
		})
	}
}

func TestLoadKeyErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name, path, wantErr string
	}{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"directory", dir, "not a regular file"},
		{"short", write("short", []byte("abcd")), "in key file"},
		{"huge", write("huge", bytes.Repeat([]byte("a"), 4096)), "too many for a key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := LoadKey(tc.path); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("LoadKey error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
