package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/baton-dev/baton/internal/cli"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/testbin"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"baton": func() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script against the real
// binary entry point, SQLite files and HTTP. Scripts that need the Docker
// engine start with `[!docker] skip`; with BATON_TEST_DOCKER=1 an engine
// that does not answer fails the test instead.
func TestScripts(t *testing.T) {
	busybox := testbin.Busybox(t)
	docker := dockerAnswers()
	if docker {
		// Scripts run steps in this image, imported from the host's busybox.
		dockertest.BusyboxImage(t)
	} else if os.Getenv("BATON_TEST_DOCKER") == "1" {
		t.Fatal("docker engine required (BATON_TEST_DOCKER=1) but it does not answer")
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Condition: func(cond string) (bool, error) {
			if cond == "docker" {
				return docker, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(e *testscript.Env) error {
			// Steps run busybox from PATH, so scripts need no absolute path.
			bin := filepath.Join(e.WorkDir, "bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				return err
			}
			if err := os.Symlink(busybox, filepath.Join(bin, "busybox")); err != nil {
				return err
			}
			e.Setenv("PATH", bin+string(os.PathListSeparator)+e.Getenv("PATH"))
			e.Setenv("BATON_DATA_DIR", e.WorkDir+"/data")
			port, err := freePort()
			if err != nil {
				return err
			}
			e.Setenv("PORT", fmt.Sprint(port))
			e.Setenv("BATON_SERVER", fmt.Sprintf("http://127.0.0.1:%d", port))
			return writeSelfSignedCert(e.WorkDir)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitserver": waitServer,
			"hookserver": hookServer,
		},
	})
}

// dockerAnswers reports whether the Docker engine from the environment
// answers a ping.
func dockerAnswers() bool {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return false
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = cli.Ping(ctx)
	return err == nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitServer waits until the server at $BATON_SERVER answers /healthz.
func waitServer(ts *testscript.TestScript, neg bool, _ []string) {
	client := http.DefaultClient
	if pemData, err := os.ReadFile(ts.Getenv("SSL_CERT_FILE")); err == nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemData)
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(ts.Getenv("BATON_SERVER") + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("server at %s did not answer in 20s", ts.Getenv("BATON_SERVER"))
}

// hookServer receives notifications for a script: `hookserver NAME STATUS`
// serves HTTP on loopback until the script ends, answers every request
// with STATUS, and appends "SIGNATURE BODY" to $WORK/NAME.log, a line each;
// $NAME is its URL.
func hookServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: hookserver NAME STATUS")
	}
	status, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("status %q: %v", args[1], err)
	}
	logPath := ts.MkAbs(args[0] + ".log")
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		defer mu.Unlock()
		if f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(f, "%s %s\n", r.Header.Get("X-Baton-Signature"), bytes.ReplaceAll(body, []byte("\n"), nil))
			f.Close()
		}
		w.WriteHeader(status)
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}

// writeSelfSignedCert writes cert.pem and key.pem for 127.0.0.1 into dir, for
// scripts that serve HTTPS; SSL_CERT_FILE=$WORK/cert.pem makes clients trust
// it.
func writeSelfSignedCert(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "baton test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}
