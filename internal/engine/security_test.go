package engine_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/docker/dockertest"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/imagepolicy"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/vault"
)

const (
	secretValue = "s3cr3t-Pa55word!"
	// A multi-line secret, printed line by line.
	keyLine1 = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
	keyLine2 = "BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
)

// withVault gives the engine a vault on its own store and hands it back.
func withVault(t testing.TB, out **vault.Vault) func(*engine.Config) {
	return func(c *engine.Config) {
		key := secret.GenerateKey()
		*out = vault.New(c.Store, secret.NewKeyring(key))
		c.Secrets = *out
	}
}

// TestSecretNeverStoredInClear has a step print a secret raw, base64-encoded
// and split across writes, and checks that no plaintext reaches the stored
// logs, the live log stream, API answers or the database file.
func TestSecretNeverStoredInClear(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	var vlt *vault.Vault
	dir := t.TempDir()
	h := newHarness(t, process.New(process.Options{Dir: dir}), "", "", withVault(t, &vlt))
	ctx := context.Background()
	if err := vlt.Set(ctx, "db_password", []byte(secretValue), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := vlt.Set(ctx, "tls_key", []byte(keyLine1+"\n"+keyLine2+"\n"), time.Now()); err != nil {
		t.Fatal(err)
	}
	name := h.apply(`
name: leaky
steps:
  - name: leak
    secrets: [{name: db_password}, {name: tls_key}]
    command: ["` + bb + `", "sh", "-c", "s=$(cat $BATON_SECRETS_DIR/db_password); echo raw=$s; printf %s $s | ` + bb + ` base64; printf s3cr; sleep 0.2; printf '3t-Pa55word!\\n'; echo tok=$(cat $BATON_TOKEN_FILE); cat $BATON_SECRETS_DIR/tls_key; sleep 1"]
  - name: smuggle
    secrets: [{name: db_password}]
    command: ["` + bb + `", "sh", "-c", "echo leaked=$(cat $BATON_SECRETS_DIR/db_password) >> $BATON_OUTPUT"]
`)
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	// Follow the live stream while the step runs.
	resp, err := http.Get(h.srv.URL + "/api/v1/runs/" + run.ID + "/steps/leak/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	var live strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		live.WriteString(sc.Text() + "\n")
	}
	resp.Body.Close()
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	r := h.detail(run.ID)
	wantStatus(t, r, store.RunFailed)
	smuggle := stepByName(t, r, "smuggle")
	if smuggle.Status != store.StepFailed || !strings.Contains(smuggle.Error, "carries the value of a secret") {
		t.Errorf("a secret returned as an output: %s %q, want refused", smuggle.Status, smuggle.Error)
	}
	stored := h.logs(r.ID, "leak")
	if !strings.Contains(stored, "raw=***") || strings.Count(stored, "***") < 4 {
		t.Errorf("stored logs are not masked as expected:\n%s", stored)
	}
	resp, err = http.Get(h.srv.URL + "/api/v1/runs/" + run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var apiBody strings.Builder
	sc = bufio.NewScanner(resp.Body)
	for sc.Scan() {
		apiBody.WriteString(sc.Text())
	}
	resp.Body.Close()
	forms := []string{secretValue, base64.StdEncoding.EncodeToString([]byte(secretValue)), keyLine1, keyLine2}
	for where, text := range map[string]string{"stored logs": stored, "live logs": live.String(), "API answer": apiBody.String()} {
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("%s hold %q:\n%s", where, f, text)
			}
		}
		if strings.Contains(text, "tok=") && !strings.Contains(text, "tok=***") {
			t.Errorf("%s show the attempt token", where)
		}
	}
	// Nothing in the database files: logs, outputs, errors or the vault.
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(h.dbFile + "*")
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, form := range forms {
			if strings.Contains(string(data), form) {
				t.Errorf("%s holds %q", f, form)
			}
		}
	}
}

// TestDockerHardeningAndImagePolicy checks what a step container looks like
// to the engine (docker inspect) and that an image outside policy never
// reaches docker create.
func TestDockerHardeningAndImagePolicy(t *testing.T) {
	t.Parallel()
	var vlt *vault.Vault
	policy := imagepolicy.Policy{Allow: []string{"baton-test/*"}}
	h, _, image := newDockerHarness(t, withVault(t, &vlt), func(c *engine.Config) {
		c.ImagePolicy = policy.Check
		c.DefaultLimits = executor.Limits{PIDs: 256}
	})
	cli := dockertest.Client(t)
	ctx := context.Background()
	for name, v := range map[string]string{"db_password": secretValue, "api_key": "key-1234567890"} {
		if err := vlt.Set(ctx, name, []byte(v), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	name := h.apply(`
name: hardened
steps:
  - name: inspectme
    image: ` + image + `
    pull: never
    secrets: [{name: db_password}, {name: api_key, env: API_KEY}]
    command: ["sh", "-c", "test \"$(cat /run/secrets/db_password)\" = '` + secretValue + `' && test \"$API_KEY\" = key-1234567890 && sleep 3"]
`)
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	var inspected container.InspectResponse
	waitFor(t, func() bool {
		list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+run.ID))})
		if err != nil || len(list) == 0 {
			return false
		}
		inspected, err = cli.ContainerInspect(ctx, list[0].ID)
		return err == nil
	})
	hc := inspected.HostConfig
	if hc.Privileged || len(hc.CapDrop) != 1 || hc.CapDrop[0] != "ALL" {
		t.Errorf("privileged=%v cap_drop=%v, want unprivileged with ALL dropped", hc.Privileged, hc.CapDrop)
	}
	if !strings.Contains(strings.Join(hc.SecurityOpt, ","), "no-new-privileges") {
		t.Errorf("security_opt = %v, want no-new-privileges", hc.SecurityOpt)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != 256 {
		t.Errorf("pids limit = %v, want the server default 256", hc.PidsLimit)
	}
	env := strings.Join(inspected.Config.Env, "\n")
	if strings.Contains(env, secretValue) {
		t.Error("a secret meant as a file is in the container's environment")
	}
	if !strings.Contains(env, "API_KEY=key-1234567890") {
		t.Error("a secret asked for as env is missing from the environment")
	}
	for _, m := range inspected.Mounts {
		if strings.Contains(m.Source, "docker.sock") {
			t.Errorf("the Docker socket is mounted: %+v", m)
		}
	}
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	r := h.detail(run.ID)
	wantStatus(t, r, store.RunSucceeded)
	a, err := h.st.AttemptGet(ctx, run.ID, "inspectme", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ImageDigest, "sha256:") && !strings.Contains(a.ImageDigest, "@sha256:") {
		t.Errorf("image digest = %q, want the digest that ran", a.ImageDigest)
	}

	// An image outside policy fails the step before anything is created.
	name = h.apply(`
name: outside
steps:
  - name: evil
    image: evil.example/miner:1
    command: ["true"]
`)
	r = h.run(name, nil)
	wantStatus(t, r, store.RunFailed)
	s := stepByName(t, r, "evil")
	if !strings.Contains(s.Error, "image policy") || !strings.Contains(s.Error, "baton-test/*") {
		t.Errorf("error = %q, want the policy rule that refused it", s.Error)
	}
	if len(s.Attempts) != 0 {
		t.Errorf("a refused image started %d attempts", len(s.Attempts))
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", executor.LabelRun+"="+r.ID))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("%d containers created for an image outside policy", len(list))
	}
}
