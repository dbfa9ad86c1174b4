// Package swarmtest gives the swarm executor's tests a real Docker Swarm
// and an image on each of its nodes, without a registry.
//
// The swarm is named by BATON_TEST_SWARM_HOSTS, a comma-separated list of
// Docker hosts, one per node, the manager first (.ci/swarm-up starts one
// and prints the variable). Without it, or when a node does not answer,
// the tests skip, unless BATON_TEST_SWARM=1, in which case they fail: CI
// sets it, so a green run means they ran.
package swarmtest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// EnvHosts names the variable that lists the swarm's Docker hosts.
const EnvHosts = "BATON_TEST_SWARM_HOSTS"

// EnvRequired, set to 1, makes tests fail instead of skip without a swarm.
const EnvRequired = "BATON_TEST_SWARM"

// HostGateway is the address at which tasks on the CI swarm's nodes reach
// this machine: the bridge .ci/swarm-up hangs the nodes off.
const HostGateway = "10.77.0.1"

// Image is the tag [Busybox] loads on every node.
const Image = "baton-test/swarm-busybox:1"

// busyboxPath is the statically linked busybox the image is built from.
const busyboxPath = "/bin/busybox"

// applets are linked into /bin so that the image has a usable shell.
var applets = []string{
	"sh", "echo", "cat", "sleep", "env", "printf", "wget", "test", "[", "true",
	"false", "ls", "mkdir", "rm", "head", "tail", "tr", "wc", "id", "kill",
	"nc", "seq", "grep", "sed", "touch", "date", "yes", "stat", "timeout",
	"awk", "cut", "basename", "dirname", "ln", "mkfifo", "mknod", "chmod",
	"dd", "base64", "hostname",
}

// Swarm is a running swarm's engines.
type Swarm struct {
	// Hosts are the nodes' Docker hosts, the manager first.
	Hosts []string
	// Manager is a client of the first host.
	Manager *client.Client
	// Nodes are clients of every host, Nodes[0] being the manager's, and
	// NodeIDs their swarm node IDs in the same order.
	Nodes   []*client.Client
	NodeIDs []string
}

// New returns the swarm named by [EnvHosts], or skips (fails with
// [EnvRequired]=1) when there is none. Its clients close when the test
// ends.
func New(t testing.TB) *Swarm {
	t.Helper()
	s, err := connect(t)
	if err != nil {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("swarm required (%s=1): %v", EnvRequired, err)
		}
		t.Skipf("no swarm (set %s, or %s=1 to fail instead): %v", EnvHosts, EnvRequired, err)
	}
	return s
}

func connect(t testing.TB) (*Swarm, error) {
	env := os.Getenv(EnvHosts)
	if env == "" {
		return nil, fmt.Errorf("%s is not set; run .ci/swarm-up", EnvHosts)
	}
	s := &Swarm{}
	for _, h := range strings.Split(env, ",") {
		if h = strings.TrimSpace(h); h != "" {
			s.Hosts = append(s.Hosts, h)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, h := range s.Hosts {
		cli, err := client.NewClientWithOpts(client.WithHost(h), client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("client for %s: %w", h, err)
		}
		t.Cleanup(func() { cli.Close() })
		info, err := cli.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s does not answer: %w; run .ci/swarm-up", h, err)
		}
		if info.Swarm.NodeID == "" || info.Swarm.LocalNodeState != "active" {
			return nil, fmt.Errorf("%s is not in a swarm (state %q); run .ci/swarm-up", h, info.Swarm.LocalNodeState)
		}
		s.Nodes = append(s.Nodes, cli)
		s.NodeIDs = append(s.NodeIDs, info.Swarm.NodeID)
	}
	if len(s.Nodes) == 0 {
		return nil, fmt.Errorf("%s lists no hosts", EnvHosts)
	}
	s.Manager = s.Nodes[0]
	return s, nil
}

var loaded sync.Mutex // serializes loads within this process

// Busybox makes sure [Image] is on every node and returns it. The image is
// built byte for byte the same each time, so it has the same ID on every
// node, as an image pulled from a registry would.
func (s *Swarm) Busybox(t testing.TB) string {
	t.Helper()
	archive, id, err := busyboxArchive()
	if err != nil {
		t.Fatalf("swarmtest: %v", err)
	}
	loaded.Lock()
	defer loaded.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i, cli := range s.Nodes {
		img, err := cli.ImageInspect(ctx, Image)
		if err == nil && img.ID == id {
			continue
		}
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Fatalf("swarmtest: inspect %s on %s: %v", Image, s.Hosts[i], err)
		}
		resp, err := cli.ImageLoad(ctx, bytes.NewReader(archive))
		if err != nil {
			t.Fatalf("swarmtest: load %s on %s: %v", Image, s.Hosts[i], err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("swarmtest: load %s on %s: %v", Image, s.Hosts[i], err)
		}
		if img, err := cli.ImageInspect(ctx, Image); err != nil || img.ID != id {
			t.Fatalf("swarmtest: %s on %s after load: id %q, %v; want %s", Image, s.Hosts[i], img.ID, err, id)
		}
	}
	return Image
}

// busyboxArchive is [Image] as `docker save` writes it, and its image ID.
func busyboxArchive() ([]byte, string, error) {
	layer, err := busyboxLayer()
	if err != nil {
		return nil, "", err
	}
	layerSum := sha256.Sum256(layer)
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      "2024-01-01T00:00:00Z",
		"config": map[string]any{
			"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"Cmd": []string{"sh"},
		},
		"rootfs": map[string]any{
			"type":     "layers",
			"diff_ids": []string{"sha256:" + hex.EncodeToString(layerSum[:])},
		},
	})
	if err != nil {
		return nil, "", err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{Image},
		"Layers":   []string{"layer.tar"},
	}})
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"layer.tar", layer}, {configName, config}, {"manifest.json", manifest}} {
		if err := writeFile(tw, f.name, 0o644, f.data); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "sha256:" + hex.EncodeToString(configSum[:]), nil
}

// epoch is every file's time, so that the layer, and with it the image ID,
// is the same wherever it is built.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// busyboxLayer is a root file system with busybox, its applets and a /tmp.
func busyboxLayer() ([]byte, error) {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read busybox (install busybox-static): %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"etc/", 0o755}, {"tmp/", 0o1777}} {
		if err := tw.WriteHeader(&tar.Header{Name: d.name, Typeflag: tar.TypeDir, Mode: d.mode, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	if err := writeFile(tw, "bin/busybox", 0o755, bin); err != nil {
		return nil, err
	}
	for _, a := range applets {
		h := &tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: epoch}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data)), ModTime: epoch}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
