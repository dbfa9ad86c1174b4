package engine_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/secret"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/vault"
)

const (
	startChanged = "changed-at-start-4a7f1c"
	startGone    = "deleted-later-9be20d"
	laterChanged = "changed-meanwhile-55aa01"
)

// restartPipeline is one step that reads its token and two secrets, waits
// for goFile, then prints them all raw and in base64. The token comes from
// $BATON_TOKEN or the file $BATON_TOKEN_FILE names, whichever the executor
// gives; the step writes it to tokenFile so the test can call back as it.
func restartPipeline(bb, tokenFile, goFile string) string {
	script := `T=${BATON_TOKEN:-$(cat "$BATON_TOKEN_FILE")}; printf %s "$T" > ` + tokenFile + `; ` +
		`C=$(cat "$BATON_SECRETS_DIR/changed"); echo before=$T; ` +
		`until [ -e ` + goFile + ` ]; do ` + bb + ` sleep 0.05; done; ` +
		`echo token=$T; echo token64=$(printf %s "$T" | ` + bb + ` base64); ` +
		`echo changed=$C; echo changed64=$(printf %s "$C" | ` + bb + ` base64); ` +
		`echo gone=$GONE; echo gone64=$(printf %s "$GONE" | ` + bb + ` base64)`
	return `
name: restart
steps:
  - name: leak
    secrets: [{name: changed}, {name: gone, env: GONE}]
    command: ["` + bb + `", "sh", "-c", ` + quoteYAML(script) + `]
`
}

func quoteYAML(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// restartSetup starts a run of [restartPipeline] on the process executor,
// waits until its attempt runs and has printed its first line, then closes
// the engine as a shutdown does, leaving the attempt running. The secret
// "changed" is then changed and "gone" deleted.
func restartSetup(t *testing.T, ring *secret.Keyring) (h *harness, vlt *vault.Vault, runID, tokenFile, goFile string) {
	t.Helper()
	bb := busybox(t)
	dir := t.TempDir()
	exec := process.New(process.Options{Dir: filepath.Join(dir, "process")})
	h = newHarness(t, exec, "", "", withVault(t, &vlt), func(c *engine.Config) { c.Sealer = ring })
	ctx := context.Background()
	for name, v := range map[string]string{"changed": startChanged, "gone": startGone} {
		if err := vlt.Set(ctx, name, []byte(v), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	tokenFile, goFile = filepath.Join(dir, "token"), filepath.Join(dir, "go")
	name := h.apply(restartPipeline(bb, tokenFile, goFile))
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, run.ID, "leak", 1)
		return err == nil && len(a.Handle) > 0 && strings.Contains(h.logs(run.ID, "leak"), "before=")
	})
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.eng.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if err := vlt.Set(ctx, "changed", []byte(laterChanged), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := vlt.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	return h, vlt, run.ID, tokenFile, goFile
}

// restarted is a new life of the engine on the harness's store and
// executor, recovered.
func restarted(t *testing.T, h *harness, vlt *vault.Vault, sealer engine.Sealer) *engine.Engine {
	t.Helper()
	eng, err := engine.New(engine.Config{
		Store: h.st, Executor: h.exec, Secrets: vlt, Sealer: sealer, CallbackURL: h.srv.URL,
		StopGrace: 2 * time.Second, LogFlush: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	if err := eng.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}

// clearForms are what must never be stored: the token, and both secrets as
// the attempt started with them, raw and in base64.
func clearForms(token string) []string {
	var forms []string
	for _, v := range []string{token, startChanged, startGone} {
		forms = append(forms, v, base64.StdEncoding.EncodeToString([]byte(v)))
	}
	return forms
}

// TestResumeMasksWithStartValues re-attaches to an attempt after the engine
// stopped, while its secrets were changed and deleted: the attempt's token
// and the secrets it started with stay masked, and the callback hands it the
// values it started with.
func TestResumeMasksWithStartValues(t *testing.T) {
	t.Parallel()
	ring := secret.NewKeyring(secret.GenerateKey())
	h, vlt, runID, tokenFile, goFile := restartSetup(t, ring)
	eng := restarted(t, h, vlt, ring)
	ctx := context.Background()

	tok, err := os.ReadFile(tokenFile)
	if err != nil || len(tok) < 16 {
		t.Fatalf("the step's token: %q, %v", tok, err)
	}
	token := string(tok)
	for name, want := range map[string]string{"changed": startChanged, "gone": startGone} {
		got, err := eng.AttemptSecret(ctx, runID, "leak", 1, token, name)
		if err != nil || string(got) != want {
			t.Errorf("AttemptSecret(%s) after the restart = %q, %v; want the value the attempt started with", name, got, err)
		}
	}
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := eng.Wait(waitCtx, runID); err != nil {
		t.Fatal(err)
	}
	r := h.detail(runID)
	wantStatus(t, r, store.RunSucceeded)
	logs := h.logs(runID, "leak")
	for _, line := range []string{"before=***", "token=***", "token64=***", "changed=***", "changed64=***", "gone=***", "gone64=***"} {
		if !strings.Contains(logs, "stdout:"+line) {
			t.Errorf("logs lack %q:\n%s", line, logs)
		}
	}
	for _, f := range clearForms(token) {
		if strings.Contains(logs, f) {
			t.Errorf("stored logs hold %q:\n%s", f, logs)
		}
	}
	// An ended attempt keeps nothing of what it started with.
	a, err := h.st.AttemptGet(ctx, runID, "leak", 1)
	if err != nil || len(a.Sealed) != 0 {
		t.Errorf("ended attempt: sealed blob of %d bytes (%v), want none", len(a.Sealed), err)
	}
}

// TestResumeStopsWhatCannotBeMasked re-attaches with a key that cannot open
// what the attempt started with: the attempt is stopped and fails with the
// reason, and nothing it printed while baton was down is stored.
func TestResumeStopsWhatCannotBeMasked(t *testing.T) {
	t.Parallel()
	h, vlt, runID, tokenFile, goFile := restartSetup(t, secret.NewKeyring(secret.GenerateKey()))
	// The step prints everything before the new life re-attaches.
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	eng := restarted(t, h, vlt, secret.NewKeyring(secret.GenerateKey()))
	ctx := context.Background()
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := eng.Wait(waitCtx, runID); err != nil {
		t.Fatal(err)
	}
	r := h.detail(runID)
	wantStatus(t, r, store.RunFailed)
	s := stepByName(t, r, "leak")
	if s.Status != store.StepFailed || !strings.Contains(s.Error, "stopped after baton restarted") || !strings.Contains(s.Error, "cannot be opened") {
		t.Errorf("step %s (%q), want failed because its masking could not be opened", s.Status, s.Error)
	}
	token, _ := os.ReadFile(tokenFile)
	logs := h.logs(runID, "leak")
	for _, f := range clearForms(string(token)) {
		if strings.Contains(logs, f) || strings.Contains(r.Error, f) {
			t.Errorf("stored logs or the error hold %q:\n%s\n%s", f, logs, r.Error)
		}
	}
	if strings.Contains(logs, "token=") {
		t.Errorf("lines printed while baton was down were stored without their masking:\n%s", logs)
	}
	// Stopped and removed.
	a, err := h.st.AttemptGet(ctx, runID, "leak", 1)
	if err != nil || !a.Removed || a.CleanupError != "" {
		t.Errorf("attempt after the stop: %+v, %v; want removed", a, err)
	}
	if _, err := eng.AttemptSecret(ctx, runID, "leak", 1, string(token), "changed"); err == nil {
		t.Error("AttemptSecret of an ended attempt answered")
	}
}
