package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/store"
)

// TestEveryFlowFeatureOnDocker runs, on the real Docker engine, one
// pipeline that uses every flow feature together: a fan-out whose
// instances each run a sub-pipeline, a condition, an approval whose values
// become outputs, a finally step, and a signed notification when the run
// ends.
func TestEveryFlowFeatureOnDocker(t *testing.T) {
	t.Parallel()
	h, d, image := newDockerHarness(t)
	rc := newReceiver(t, 1) // the first try fails: the outbox tries again
	h.apply(`
name: deploy-region
params:
  region: {required: true}
vars:
  region: "{{ .Params.region }}"
steps:
  - name: deploy
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo url=https://$BATON_VAR_region.example >> $BATON_OUTPUT"]
`)
	name := h.apply(`
name: release
params:
  announce: {default: "no"}
notify:
  - {url: "` + rc.srv.URL + `/hook", secret: hook_key, on: [succeeded]}
steps:
  - name: plan
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo 'regions=[\"eu\",\"us\"]' >> $BATON_OUTPUT"]
  - name: gate
    approval: {message: "Release to every region?", timeout: 10m}
  - name: regions
    for_each: '{{ .Vars.regions }}'
    max_parallel: 2
    pipeline: deploy-region
    params: {region: '{{ .Vars.item }}'}
    outputs: [url]
  - name: announce
    if: '{{ eq .Params.announce "yes" }}'
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo announcing"]
finally:
  - name: cleanup
    image: ` + image + `
    pull: never
    command: ["sh", "-c", "echo cleaned=$BATON_RUN_STATUS >> $BATON_OUTPUT; echo 'approved by' $BATON_VAR_approver"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := h.eng.Decide(ctx, &engine.DecideParams{RunID: run.ID, Step: "gate", Approve: true, By: "alice", Values: map[string]string{"approver": "alice"}})
		return err == nil
	})
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	r := h.detail(run.ID)
	wantStatus(t, r, store.RunSucceeded)
	var urls map[string]string
	if err := json.Unmarshal([]byte(r.Variables["url"]), &urls); err != nil || urls["eu"] != "https://eu.example" || urls["us"] != "https://us.example" {
		t.Errorf("the regions' urls through sub-pipelines and the fan-out: %q (%v)", r.Variables["url"], err)
	}
	if s := stepByName(t, r, "announce"); s.Status != store.StepSkipped {
		t.Errorf("announce without announce=yes: %s", s.Status)
	}
	if r.Variables["approver"] != "alice" || r.Variables["cleaned"] != "succeeded" {
		t.Errorf("approval value %q, the finally step saw %q", r.Variables["approver"], r.Variables["cleaned"])
	}
	if got := h.logs(r.ID, "cleanup"); !strings.Contains(got, "approved by alice") {
		t.Errorf("cleanup logs: %q", got)
	}
	for _, inst := range []string{"regions.0", "regions.1"} {
		if a := stepByName(t, r, inst).Attempts; len(a) != 1 || a[0].ChildRun == "" {
			t.Errorf("%s: attempts %+v, want one naming its child run", inst, a)
		}
	}
	var logs bytes.Buffer
	deliverUntil(t, h.deliverer(&logs, 5), func() bool { return len(rc.deliveries()) == 2 })
	got := rc.deliveries()
	if got[0].id != got[1].id || got[1].summary.Status != string(store.RunSucceeded) {
		t.Errorf("deliveries: ids %q and %q, status %s; want one delivery id tried twice, succeeded", got[0].id, got[1].id, got[1].summary.Status)
	}
	if left := leftovers(t, d, run.ID); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}
