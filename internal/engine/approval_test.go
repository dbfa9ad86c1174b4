package engine_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/vault"
)

// approvalPipeline: a gate waits for a decision; deploy prints what the
// gate passed on, and needs it.
func approvalPipeline(bb, name, approval string) string {
	return `
name: ` + name + `
steps:
  - name: build
    command: ["true"]
  - name: gate
    approval: ` + approval + `
  - name: deploy
    command: ["` + bb + `", "sh", "-c", "echo \"target=$BATON_VAR_target\""]
`
}

// waitApproval waits, at most a minute, until the step waits for a
// decision, and returns its stored approval.
func waitApproval(t *testing.T, eng *engine.Engine, st store.Store, runID, step string) *store.ApprovalRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		changed := eng.Changed(runID)
		a, err := st.ApprovalGet(ctx, runID, step)
		if err == nil {
			return a
		}
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("approval of %s: %v", step, err)
		}
		select {
		case <-changed:
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("step %s of run %s never waited for approval", step, runID)
		}
	}
}

func (h *harness) submit(name string) string {
	h.t.Helper()
	run, err := h.eng.Submit(context.Background(), &engine.SubmitParams{Pipeline: name})
	if err != nil {
		h.t.Fatal(err)
	}
	return run.ID
}

func (h *harness) waitEnd(id string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := h.eng.Wait(ctx, id); err != nil {
		h.t.Fatal(err)
	}
}

func TestApprovalApprovedValuesReachNextStep(t *testing.T) {
	t.Parallel()
	h := newProcessHarness(t)
	name := h.apply(approvalPipeline(busybox(t), "approve", `{timeout: 1h, message: "Deploy to prod?"}`))
	id := h.submit(name)
	a := waitApproval(t, h.eng, h.st, id, "gate")
	if a.Message != "Deploy to prod?" || a.Deadline.Sub(a.Since) != time.Hour {
		t.Fatalf("stored approval: %+v", a)
	}
	waiting := h.eng.Metrics().ApprovalsWaiting.WithLabelValues(name)
	if v := testutil.ToFloat64(waiting); v != 1 {
		t.Errorf("baton_approvals_waiting while the gate waits: %v, want 1", v)
	}
	// The run shows the wait.
	d := h.detail(id)
	gate := stepByName(t, d, "gate")
	if gate.Approval == nil || gate.Approval.Message != "Deploy to prod?" || gate.Approval.Deadline == nil || gate.Approval.DecidedBy != "" {
		t.Fatalf("run view of the waiting gate: %+v", gate.Approval)
	}
	if deploy := stepByName(t, d, "deploy"); deploy.Status != store.StepPending {
		t.Fatalf("deploy started before the approval: %s", deploy.Status)
	}
	_, err := h.eng.Decide(context.Background(), &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "alice", Reason: "go",
		Values: map[string]string{"target": "prod 'eu' $(x)"}})
	if err != nil {
		t.Fatal(err)
	}
	h.waitEnd(id)
	if v := testutil.ToFloat64(waiting); v != 0 {
		t.Errorf("baton_approvals_waiting after the decision: %v, want 0", v)
	}
	r := h.detail(id)
	wantStatus(t, r, store.RunSucceeded)
	gate = stepByName(t, r, "gate")
	if gate.Status != store.StepSucceeded || gate.Outputs["target"] != "prod 'eu' $(x)" || len(gate.Attempts) != 0 {
		t.Errorf("gate: %+v", gate)
	}
	if gate.Approval == nil || !gate.Approval.Approved || gate.Approval.DecidedBy != "alice" || gate.Approval.Reason != "go" || gate.Approval.DecidedAt == nil {
		t.Errorf("decided approval in the run view: %+v", gate.Approval)
	}
	if got := h.logs(id, "deploy"); got != "stdout:target=prod 'eu' $(x)\n" {
		t.Errorf("deploy printed %q", got)
	}
	// Decided once: a second decision is refused, and says why.
	_, err = h.eng.Decide(context.Background(), &engine.DecideParams{RunID: id, Step: "gate", By: "bob"})
	var closed *store.ApprovalClosedError
	if !errors.As(err, &closed) || !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "approved by alice") {
		t.Errorf("second decision: %v", err)
	}
}

func TestApprovalRejectedFailsStepAndSkipsDependents(t *testing.T) {
	t.Parallel()
	h := newProcessHarness(t)
	name := h.apply(approvalPipeline(busybox(t), "reject", `{message: "Deploy?"}`))
	id := h.submit(name)
	waitApproval(t, h.eng, h.st, id, "gate")
	if _, err := h.eng.Decide(context.Background(), &engine.DecideParams{RunID: id, Step: "gate", By: "bob", Reason: "not on a Friday"}); err != nil {
		t.Fatal(err)
	}
	h.waitEnd(id)
	r := h.detail(id)
	wantStatus(t, r, store.RunFailed)
	if gate := stepByName(t, r, "gate"); gate.Status != store.StepFailed || gate.Error != "rejected by bob: not on a Friday" {
		t.Errorf("gate: %s %q", gate.Status, gate.Error)
	}
	if deploy := stepByName(t, r, "deploy"); deploy.Status != store.StepSkipped || len(deploy.Attempts) != 0 {
		t.Errorf("deploy: %s, %d attempts", deploy.Status, len(deploy.Attempts))
	}
	if !strings.Contains(r.Error, "rejected by bob: not on a Friday") {
		t.Errorf("run error %q does not say who rejected and why", r.Error)
	}
}

func TestApprovalTimeout(t *testing.T) {
	t.Parallel()
	h := newProcessHarness(t)
	name := h.apply(approvalPipeline(busybox(t), "timeout", `{timeout: 1s}`))
	id := h.submit(name)
	h.waitEnd(id)
	r := h.detail(id)
	wantStatus(t, r, store.RunFailed)
	gate := stepByName(t, r, "gate")
	if gate.Status != store.StepFailed || !strings.HasPrefix(gate.Error, "approval timed out after 1s: nobody approved or rejected it by ") {
		t.Errorf("gate: %s %q", gate.Status, gate.Error)
	}
	if deploy := stepByName(t, r, "deploy"); deploy.Status != store.StepSkipped {
		t.Errorf("deploy: %s", deploy.Status)
	}
	_, err := h.eng.Decide(context.Background(), &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "late"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("decision after the timeout: %v", err)
	}
}

func TestApprovalCancelEndsWait(t *testing.T) {
	t.Parallel()
	h := newProcessHarness(t)
	name := h.apply(approvalPipeline(busybox(t), "cancel", `{timeout: 1h}`))
	id := h.submit(name)
	waitApproval(t, h.eng, h.st, id, "gate")
	waiting := h.eng.Metrics().ApprovalsWaiting.WithLabelValues(name)
	if v := testutil.ToFloat64(waiting); v != 1 {
		t.Errorf("baton_approvals_waiting while the gate waits: %v, want 1", v)
	}
	if err := h.eng.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	h.waitEnd(id)
	if v := testutil.ToFloat64(waiting); v != 0 {
		t.Errorf("baton_approvals_waiting after the cancel: %v, want 0", v)
	}
	r := h.detail(id)
	wantStatus(t, r, store.RunCanceled)
	if gate := stepByName(t, r, "gate"); gate.Status != store.StepCanceled {
		t.Errorf("gate: %s %q", gate.Status, gate.Error)
	}
	if deploy := stepByName(t, r, "deploy"); deploy.Status != store.StepCanceled && deploy.Status != store.StepSkipped {
		t.Errorf("deploy: %s", deploy.Status)
	}
	_, err := h.eng.Decide(context.Background(), &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "late"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("decision after the cancel: %v", err)
	}
}

// TestApprovalDecisionRefusals: a decision before the run reaches the
// step is refused (nobody has seen what it approves yet), and so are
// decisions on steps without an approval and values that break the rules
// of outputs; none of them is stored.
func TestApprovalDecisionRefusals(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	gate := filepath.Join(t.TempDir(), "go")
	h := newProcessHarness(t)
	name := h.apply(`
name: early
steps:
  - name: build
    command: ["` + bb + `", "sh", "-c", "while [ ! -e ` + gate + ` ]; do ` + bb + ` sleep 0.05; done"]
  - name: gate
    approval: {}
`)
	id := h.submit(name)
	ctx := context.Background()
	_, err := h.eng.Decide(ctx, &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "eager"})
	if !errors.Is(err, engine.ErrNotWaiting) || !strings.Contains(err.Error(), "has not reached step \"gate\" yet (it is pending)") {
		t.Fatalf("decision before the step waits: %v", err)
	}
	for _, tc := range []struct {
		p    engine.DecideParams
		want error
	}{
		{engine.DecideParams{Step: "build", Approve: true}, engine.ErrNotWaiting},
		{engine.DecideParams{Step: "nope", Approve: true}, engine.ErrInvalid},
		{engine.DecideParams{Step: "gate", Values: map[string]string{"a": "b"}}, engine.ErrInvalid},
		{engine.DecideParams{Step: "gate", Approve: true, Values: map[string]string{"1bad": "x"}}, engine.ErrInvalid},
		{engine.DecideParams{Step: "gate", Approve: true, Values: map[string]string{"BATON_TOKEN": "x"}}, engine.ErrInvalid},
		{engine.DecideParams{Step: "gate", Approve: true, Values: map[string]string{"PATH": "/x"}}, engine.ErrInvalid},
		{engine.DecideParams{Step: "gate", Approve: true, Values: map[string]string{"big": strings.Repeat("v", 256<<10+1)}}, engine.ErrInvalid},
		{engine.DecideParams{Step: "gate", Approve: true, Reason: "nul\x00"}, engine.ErrInvalid},
	} {
		tc.p.RunID = id
		if _, err := h.eng.Decide(ctx, &tc.p); !errors.Is(err, tc.want) {
			t.Errorf("Decide(%+v): got %v, want %v", tc.p.Values, err, tc.want)
		}
	}
	if _, err := h.eng.Decide(ctx, &engine.DecideParams{RunID: "missing", Step: "gate", Approve: true}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("decision on a missing run: %v", err)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := waitApproval(t, h.eng, h.st, id, "gate")
	if a.Decided() {
		t.Fatalf("a refused decision was kept: %+v", a)
	}
	if !a.Deadline.IsZero() {
		t.Errorf("an approval without timeout has deadline %v", a.Deadline)
	}
	if _, err := h.eng.Decide(ctx, &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "on time"}); err != nil {
		t.Fatal(err)
	}
	h.waitEnd(id)
	wantStatus(t, h.detail(id), store.RunSucceeded)
}

// TestApprovalSurvivesRestart: the wait outlives the engine, keeps its
// start and deadline, and a decision another server stores while this one
// is down is acted on by the next life.
func TestApprovalSurvivesRestart(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dbFile := filepath.Join(t.TempDir(), "baton.db")
	exec := process.New(process.Options{Dir: t.TempDir()})
	first := startLife(t, dbFile, exec)
	id := first.submit(t, approvalPipeline(bb, "restart", `{timeout: 1h}`))
	before := waitApproval(t, first.eng, first.st, id, "gate")
	first.end()

	// Another server takes the decision while the driving one is down.
	other := startLife(t, dbFile, exec)
	if _, err := other.eng.Decide(context.Background(), &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "ops",
		Values: map[string]string{"target": "eu"}}); err != nil {
		t.Fatal(err)
	}
	other.end()

	second := startLife(t, dbFile, exec)
	if err := second.eng.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := second.waitEnd(t, id)
	if run.Status != store.RunSucceeded {
		t.Fatalf("run ended %s (%q)", run.Status, run.Error)
	}
	after, err := second.st.ApprovalGet(context.Background(), id, "gate")
	if err != nil {
		t.Fatal(err)
	}
	if !after.Since.Equal(before.Since) || !after.Deadline.Equal(before.Deadline) {
		t.Errorf("the restart moved the wait: since %v→%v, deadline %v→%v", before.Since, after.Since, before.Deadline, after.Deadline)
	}
	if gate := second.step(t, id, "gate"); gate.Outputs["target"] != "eu" {
		t.Errorf("gate outputs %q", gate.Outputs)
	}
}

// TestApprovalPendingAcrossRestart: a wait the engine left at shutdown is
// waited on again by the next life, which takes the decision made then.
func TestApprovalPendingAcrossRestart(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dbFile := filepath.Join(t.TempDir(), "baton.db")
	exec := process.New(process.Options{Dir: t.TempDir()})
	first := startLife(t, dbFile, exec)
	id := first.submit(t, approvalPipeline(bb, "pending", `{}`))
	waitApproval(t, first.eng, first.st, id, "gate")
	first.end()

	second := startLife(t, dbFile, exec)
	if err := second.eng.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := second.eng.Decide(context.Background(), &engine.DecideParams{RunID: id, Step: "gate", By: "ops", Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	run := second.waitEnd(t, id)
	if run.Status != store.RunFailed || !strings.Contains(run.Error, "rejected by ops: no") {
		t.Fatalf("run ended %s (%q)", run.Status, run.Error)
	}
}

// TestApprovalRunTimeoutEndsWait: the run's own timeout ends a wait that
// has none, failing the step with the run's reason.
func TestApprovalRunTimeoutEndsWait(t *testing.T) {
	t.Parallel()
	h := newProcessHarness(t)
	name := h.apply(`
name: runtimeout
timeout: 1s
steps:
  - name: gate
    approval: {message: "never answered"}
  - name: after
    command: ["true"]
`)
	id := h.submit(name)
	h.waitEnd(id)
	r := h.detail(id)
	wantStatus(t, r, store.RunFailed)
	gate := stepByName(t, r, "gate")
	if gate.Status != store.StepFailed || !strings.Contains(gate.Error, "run timed out") {
		t.Errorf("gate: %s %q", gate.Status, gate.Error)
	}
	if gate.Approval == nil || gate.Approval.Decided {
		t.Errorf("gate approval: %+v", gate.Approval)
	}
}

// TestApprovalValueClash: a value named like an output of a step not
// ordered with the approval step is refused, as two such outputs are.
func TestApprovalValueClash(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: clash
steps:
  - name: side
    needs: []
    command: ["` + bb + `", "sh", "-c", "echo target=side >> $BATON_OUTPUT"]
  - name: gate
    needs: []
    approval: {}
  - name: after
    needs: [side, gate]
    command: ["` + bb + `", "sh", "-c", "echo $BATON_VAR_target $BATON_VAR_other"]
`)
	id := h.submit(name)
	waitApproval(t, h.eng, h.st, id, "gate")
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		steps, err := h.st.StepList(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if steps[0].Status == store.StepSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("side did not succeed: %+v", steps[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err := h.eng.Decide(ctx, &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "a", Values: map[string]string{"target": "gate"}})
	if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), `value "target" is an output of step "side" too`) {
		t.Fatalf("clashing value: %v", err)
	}
	if _, err := h.eng.Decide(ctx, &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "a", Values: map[string]string{"other": "ok"}}); err != nil {
		t.Fatal(err)
	}
	h.waitEnd(id)
	wantStatus(t, h.detail(id), store.RunSucceeded)
	if got := h.logs(id, "after"); got != "stdout:side ok\n" {
		t.Errorf("after printed %q", got)
	}
}

// TestApprovalValueCarryingSecretRefused: an approval's values become
// outputs, shown in clear, so one carrying the value of a secret the
// pipeline's steps use, raw or in a form masking knows, is refused like a
// step's output would be, without being repeated; nothing is decided.
func TestApprovalValueCarryingSecretRefused(t *testing.T) {
	t.Parallel()
	var vlt *vault.Vault
	h := newHarness(t, process.New(process.Options{Dir: t.TempDir()}), "", "", withVault(t, &vlt))
	ctx := context.Background()
	const key = "pr0d-K3y-material-77"
	if err := vlt.Set(ctx, "prod_key", []byte(key), time.Now()); err != nil {
		t.Fatal(err)
	}
	bb := busybox(t)
	name := h.apply(`
name: secretgate
steps:
  - name: gate
    approval: {message: "Deploy?"}
  - name: deploy
    secrets: [{name: prod_key}]
    command: ["` + bb + `", "true"]
`)
	id := h.submit(name)
	waitApproval(t, h.eng, h.st, id, "gate")
	for what, value := range map[string]string{
		"raw":        "key is " + key,
		"base64":     base64.StdEncoding.EncodeToString([]byte(key)),
		"url-quoted": url.QueryEscape("k=" + key + "&"),
	} {
		_, err := h.eng.Decide(ctx, &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "alice", Values: map[string]string{"target": value}})
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), `value "target" carries the value of a secret`) {
			t.Errorf("%s: %v", what, err)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("%s: the refusal repeats the secret: %v", what, err)
		}
	}
	if a, err := h.st.ApprovalGet(ctx, id, "gate"); err != nil || a.Decided() {
		t.Fatalf("after the refusals: %v %+v", err, a)
	}
	if _, err := h.eng.Decide(ctx, &engine.DecideParams{RunID: id, Step: "gate", Approve: true, By: "alice", Values: map[string]string{"target": "eu-west"}}); err != nil {
		t.Fatal(err)
	}
	h.waitEnd(id)
	wantStatus(t, h.detail(id), store.RunSucceeded)
}
