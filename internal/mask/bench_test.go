package mask

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchLog returns about 1 MiB of log text holding each secret now and then.
func benchLog(secrets []string) string {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "2024-05-01T10:%02d:%02d.%03dZ INFO step=build attempt=1 msg=%q bytes=%d\n",
			i/60%60, i%60, i%1000, "compiling package internal/engine", r.IntN(1<<20))
		if i%50 == 0 {
			fmt.Fprintf(&b, "DEBUG env TOKEN=%s\n", secrets[r.IntN(len(secrets))])
		}
	}
	return b.String()
}

func benchSecrets() []string {
	secrets := make([]string, 10)
	for i := range secrets {
		secrets[i] = fmt.Sprintf("s3cr3t-%02d-%s", i, strings.Repeat("x9Kq", 6))
	}
	return secrets
}

func BenchmarkString(b *testing.B) {
	secrets := benchSecrets()
	m := New(secrets...)
	text := benchLog(secrets)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.String(text)
	}
}

func BenchmarkWriter(b *testing.B) {
	secrets := benchSecrets()
	m := New(secrets...)
	text := []byte(benchLog(secrets))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		w := m.Writer(io.Discard)
		for line := range bytes.Lines(text) {
			w.Write(line)
		}
		w.Close()
	}
}

func BenchmarkNew(b *testing.B) {
	secrets := benchSecrets()
	for b.Loop() {
		New(secrets...)
	}
}
