package cli_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/baton-dev/baton/internal/cli"
	"github.com/baton-dev/baton/internal/testbin"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"baton": func() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script against the real
// binary entry point, SQLite files and HTTP.
func TestScripts(t *testing.T) {
	busybox := testbin.Busybox(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
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
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitserver": waitServer,
		},
	})
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
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(ts.Getenv("BATON_SERVER") + "/healthz")
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
